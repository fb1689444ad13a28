// eval and calibrate end to end on SmolLM2-135M-Instruct (fetched by scripts/fetch-model.sh; the tests
// say why when it cannot be had): JSON fields, provenance, the overlap note, and refusals.

import Foundation
import Testing

@testable import SpQRCore

@Suite("Whole-model commands")
struct ModelCommandsTests {
    /// SmolLM2 from scripts/fetch-model.sh (its cached copy when there is one), or nil when it cannot be had.
    static let model: String? = {
        let fetch = Process()
        fetch.executableURL = URL(fileURLWithPath: "/bin/bash")
        fetch.arguments = [BinaryRunner.packageRoot.appendingPathComponent("scripts/fetch-model.sh").path]
        let out = Pipe()
        fetch.standardOutput = out
        fetch.standardError = Pipe()
        guard (try? fetch.run()) != nil else { return nil }
        let path = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(
            in: .whitespacesAndNewlines)
        fetch.waitUntilExit()
        return fetch.terminationStatus == 0 ? path : nil
    }()

    /// The model and a short text of one repeated sentence.
    static func inputs(_ name: String) throws -> (model: String, text: String) {
        let text = NSTemporaryDirectory() + "spqr-model-commands-\(name)-\(getpid()).txt"
        let sentence =
            "The hacker ethic holds that sharing information is a powerful good, and that it is an ethical duty to share expertise. "
        try String(repeating: sentence, count: 12).write(toFile: text, atomically: true, encoding: .utf8)
        return (try #require(model), text)
    }

    @Test(
        "eval --json reports the protocol's figures and notes an overlapping calibration text",
        .enabled(if: model != nil, "scripts/fetch-model.sh could not fetch SmolLM2-135M-Instruct"))
    func evalJSON() throws {
        let (model, text) = try Self.inputs("eval")
        defer { unlink(text) }
        let run = try BinaryRunner.run([
            "eval", model, "--text", text, "--seqlen", "64", "--max-windows", "2", "--json",
            "--calibration-text", text,
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any])
        #expect(json["n_windows"] as? Int == 2 && json["seqlen"] as? Int == 64 && json["n_tokens"] as? Int == 128)
        #expect(json["text_sha256"] as? String == (try SpQRCore.SHA256.file(text)))
        let ppl = try #require(json["ppl"] as? Double)
        #expect(ppl > 1 && ppl < 20, "a repeated sentence is easy to predict: \(ppl)")
        #expect(json["kl_mean"] == nil && (json["tokens_per_s"] as? Double ?? 0) > 0)
        #expect(run.stderr.contains("shares 1 of its 1 lines of 40+ characters (100.00%)"), "\(run.stderr)")
        #expect(run.stderr.contains("peak memory"))
    }

    @Test(
        "calibrate writes a Hessian file with its provenance",
        .enabled(if: model != nil, "scripts/fetch-model.sh could not fetch SmolLM2-135M-Instruct"))
    func calibrateFile() throws {
        let (model, text) = try Self.inputs("calibrate")
        defer { unlink(text) }
        let out = NSTemporaryDirectory() + "spqr-model-commands-\(getpid()).safetensors"
        defer { unlink(out) }
        let run = try BinaryRunner.run([
            "calibrate", model, "--text", text, "--out", out, "--seqlen", "32", "--nsamples", "3",
            "--sampling", "random", "--seed", "5",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let h = try HessianFileCalibration(path: out)
        #expect(h.layers.count == 7 * 30 + 1)
        let p = h.provenance
        #expect(
            p["n_sequences"] == "3" && p["n_tokens"] == "96" && p["seq_len"] == "32" && p["sampling"] == "random"
                && p["seed"] == "5")
        #expect(
            p["text_sha256"] == (try SpQRCore.SHA256.file(text)) && p["tool_version"] == "spqr-explorer calibrate 1")
        let m = try h.hessian(forLayer: "model.layers.29.mlp.down_proj.weight", inFeatures: 1536)
        #expect(m.values.allSatisfy(\.isFinite) && (0..<1536).allSatisfy { m.values[$0 * 1536 + $0] >= 0 })
    }

    @Test("a model that is not a LLaMA-family decoder is refused by name, with the supported list")
    func unsupportedModel() throws {
        let dir = NSTemporaryDirectory() + "spqr-model-commands-gpt2-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try SafetensorsWriter.write(
            [.f32("wte.weight", shape: [4, 2], [Float](repeating: 0, count: 8))], to: dir + "/model.safetensors")
        try Data(#"{"model_type": "gpt2", "n_embd": 2}"#.utf8).write(to: URL(fileURLWithPath: dir + "/config.json"))
        let run = try BinaryRunner.run(["eval", dir, "--text", "/dev/null"])
        #expect(run.status == 1)
        #expect(run.stderr.contains("architecture \"gpt2\" is not supported; supported: llama"), "\(run.stderr)")
        let bad = try BinaryRunner.run(["calibrate", "x.gguf", "--text", "t", "--out", "o", "--nsamples", "0"])
        #expect(bad.status == 2 && bad.stderr.contains("--nsamples must be at least 1"))
    }
}
