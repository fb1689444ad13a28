// quantize-model end to end on SmolLM2-135M-Instruct (scripts/fetch-model.sh; the tests say why when it
// cannot be had): a recipe's per-layer overrides change exactly those layers, a killed run resumes to the
// same bytes as an uninterrupted one, the spqr-hf output reads back as the same weights, and every refusal
// comes before any work.

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore

@Suite("quantize-model", .serialized)
struct QuantizeModelEndToEndTests {
    static var model: String? { ModelCommandsTests.model }

    static func scratch(_ name: String) throws -> String {
        try scratchDirectory("spqr-quantize-model-\(name)")
    }

    /// A scratch directory named `name` holding `tinyLlama` in its folder "tiny": the directory and the
    /// model's path.
    static func scratchWithTinyLlama(_ name: String, tokenizer: Bool = false) throws -> (dir: String, model: String) {
        let dir = try scratch(name)
        let model = dir + "/tiny"
        try FileManager.default.createDirectory(atPath: model, withIntermediateDirectories: true)
        try tinyLlama(model, tokenizer: tokenizer)
        return (dir, model)
    }

    /// Tensor name → stored bytes of a GGUF file.
    static func tensorBytes(_ path: String) throws -> [String: Data] {
        let f = try GGUFFile(path: path)
        var out: [String: Data] = [:]
        for t in f.tensors {
            out[t.name] = try f.bytes.data(at: f.dataStart + t.offset, count: t.byteCount, what: t.name)
        }
        return out
    }

    /// A held-out text for --eval: 12 repetitions of two sentences.
    static func heldOut(_ dir: String) throws -> String {
        let text = dir + "/heldout.txt"
        let sentences =
            "The Jargon File is a glossary of hacker slang. It was maintained by hackers for hackers and grew over decades. "
        try String(repeating: sentences, count: 12).write(toFile: text, atomically: true, encoding: .utf8)
        return text
    }

    /// The shared data-free run with the defaults (the README 3-bit recipe), evaluated with --eval.
    static let defaultsRun: Result<String, Error> = Result {
        let dir = try scratch("defaults")
        let out = dir + "/defaults.gguf"
        let run = try BinaryRunner.run([
            "quantize-model", try #require(model), "--out", out, "--json", "--eval", try heldOut(dir),
            "--eval-seqlen", "64", "--eval-windows", "2",
        ])
        guard run.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: ["stderr": run.stderr]) }
        return out
    }

    @Test(
        "--eval: the claims table's figures are the output's own eval, the base model's, and the layers' figures",
        .enabled(if: model != nil, "scripts/fetch-model.sh could not fetch SmolLM2-135M-Instruct"))
    func claims() throws {
        let model = try #require(Self.model)
        let out = try Self.defaultsRun.get()
        let dir = (out as NSString).deletingLastPathComponent
        let report = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + ".report.json")))
                as? [String: Any])
        let claims = try #require(report["claims"] as? [String: Any])
        let models = try #require(claims["models"] as? [[String: Any]])
        #expect(models.map { $0["method"] as? String } == ["SpQR", "round-to-nearest", "GPTQ without outliers"])
        func eval(_ path: String) throws -> Double {
            let run = try BinaryRunner.run([
                "eval", path, "--text", dir + "/heldout.txt", "--seqlen", "64", "--max-windows", "2", "--json",
            ])
            let json = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
            return try #require(json?["ppl"] as? Double, "\(run.stderr)")
        }
        #expect(abs(try #require(models[0]["ppl"] as? Double) - (try eval(out))) < 1e-9)
        #expect(abs(try #require(claims["base_ppl"] as? Double) - (try eval(model))) < 1e-9)
        let bits = try #require(claims["avg_bits"] as? Double)
        let totals = try #require(report["totals"] as? [String: Any])
        #expect(bits == totals["avg_bits"] as? Double)
        for m in models.dropFirst() { #expect((m["avg_bits"] as? Double ?? 99) <= bits, "\(m)") }
        #expect((models[0]["kl_mean"] as? Double ?? -1) > 0)
        let layers = try #require(report["layers"] as? [[String: Any]])
        var weighted = 0.0
        var parameters = 0.0
        for l in layers {
            let shape = try #require(l["shape"] as? [Int])
            weighted += (l["sensitivity_concentration"] as? Double ?? 0) * Double(shape[0] * shape[1])
            parameters += Double(shape[0] * shape[1])
        }
        #expect(abs(try #require(claims["sensitivity_top1pct"] as? Double) - weighted / parameters) < 1e-12)
    }

    @Test(
        "a recipe's per-layer overrides change exactly those layers",
        .enabled(if: model != nil, "scripts/fetch-model.sh could not fetch SmolLM2-135M-Instruct"))
    func overrides() throws {
        let model = try #require(Self.model)
        let plain = try Self.defaultsRun.get()
        let dir = try Self.scratch("overrides")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var fourBits = SpQRConfig()
        fourBits.wbits = 4
        var noOutliers = SpQRConfig()
        noOutliers.outlierThreshold = .infinity
        let k = "model.layers.3.self_attn.k_proj.weight"
        let down = "model.layers.20.mlp.down_proj.weight"
        let recipe = Recipe.make(
            model: .init(path: model, files: []),
            calibration: .init(kind: .none, file: nil, tensor: nil, sha256: nil, nSequences: nil, label: "none"),
            defaults: SpQRConfig(), configs: [k: fourBits, down: noOutliers],
            shapes: [k: [192, 576], down: [576, 1536]],
            reports: [:])
        try recipe.write(to: dir + "/recipe.json", overwrite: true)
        let out = dir + "/overridden.gguf"
        let run = try BinaryRunner.run(["quantize-model", model, "--recipe", dir + "/recipe.json", "--out", out])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains(k + " *") && run.stdout.contains(down + " *"), "overrides are marked")
        let a = try Self.tensorBytes(plain)
        let b = try Self.tensorBytes(out)
        #expect(a.keys.sorted() == b.keys.sorted())
        let changed = a.keys.filter { a[$0] != b[$0] }.sorted()
        #expect(changed == ["blk.20.ffn_down.weight", "blk.3.attn_k.weight"])
        let report = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: out + ".report.json")))
        let layers = try #require((report as? [String: Any])?["layers"] as? [[String: Any]])
        let wbits = layers.first { $0["layer"] as? String == k }?["config"] as? [String: Any]
        #expect(wbits?["wbits"] as? Int == 4 && layers.count == 210)
    }

    @Test(
        "a killed run resumes from its journal to the same bytes as an uninterrupted one",
        .enabled(if: model != nil, "scripts/fetch-model.sh could not fetch SmolLM2-135M-Instruct"))
    func resume() throws {
        let model = try #require(Self.model)
        let dir = try Self.scratch("resume")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let text = dir + "/text.txt"
        let sentence = "A hacker is a person who enjoys exploring the details of programmable systems. "
        try String(repeating: sentence, count: 20).write(toFile: text, atomically: true, encoding: .utf8)
        let args = ["quantize-model", model, "--text", text, "--nsamples", "3", "--seqlen", "32"]
        let whole = try BinaryRunner.run(args + ["--out", dir + "/whole.gguf"])
        #expect(whole.status == 0, "\(whole.stderr)")

        // The second run is killed (SIGKILL, no chance to clean up) once 60 layers are in its journal.
        let out = dir + "/resumed.gguf"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: BinaryRunner.binary)
        p.arguments = args + ["--out", out]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let journal = out + ".partial"
        func finished() -> Int {
            ((try? FileManager.default.contentsOfDirectory(atPath: journal)) ?? []).filter {
                $0.hasSuffix(".safetensors")
            }.count
        }
        let deadline = Date().addingTimeInterval(300)
        while finished() < 60 && p.isRunning && Date() < deadline { usleep(20_000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        #expect(!FileManager.default.fileExists(atPath: out), "no output before the run completes")
        let kept = finished()
        #expect(kept >= 60 && kept < 210, "killed part-way: \(kept) layers kept")

        let again = try BinaryRunner.run(args + ["--out", out, "--json"])
        #expect(again.status == 0, "\(again.stderr)")
        #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: dir + "/whole.gguf"))
        let report = try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any]
        #expect((report?["resumed_layers"] as? Int ?? 0) >= kept - 1)
        #expect(!FileManager.default.fileExists(atPath: journal), "the journal is removed once the output is written")
    }

    @Test(
        "spqr-hf: written, opened by the tool, the same weights as the source-format output within fp16",
        .enabled(if: model != nil, "scripts/fetch-model.sh could not fetch SmolLM2-135M-Instruct"))
    func spqrHF() throws {
        let model = try #require(Self.model)
        let plain = try Self.defaultsRun.get()
        let dir = try Self.scratch("spqr-hf")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/hf"
        let run = try BinaryRunner.run(["quantize-model", model, "--out", out, "--format", "spqr-hf"])
        #expect(run.status == 0, "\(run.stderr)")
        let config = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: out + "/config.json")))
        let q = (config as? [String: Any])?["quantization_config"] as? [String: Any]
        #expect(q?["quant_method"] as? String == "spqr" && (q?["shapes"] as? [String: Any])?.count == 4 * 210)
        let listed = try BinaryRunner.run(["layers", out])
        #expect(listed.status == 0 && listed.stdout.contains("SPQR3"), "\(listed.stderr)")
        let hf = try ModelFiles.openCheckpoint(out)
        let gguf = try GGUFCheckpoint(path: plain)
        for name in ["model.layers.0.self_attn.q_proj.weight", "model.layers.29.mlp.down_proj.weight"] {
            let a = try hf.matrix(name).values
            let b = try gguf.matrix(name).values
            let scale = b.reduce(Float(0)) { max($0, abs($1)) }
            let worst = zip(a, b).reduce(Float(0)) { max($0, abs($1.0 - $1.1)) }
            // Both hold the same simulated weights: spqr-hf through fp16 statistics and arithmetic, the GGUF
            // as F16 values; they differ by a few fp16 roundings of the layer's range.
            #expect(worst <= 4e-3 * scale, "\(name): \(worst) against max |w| \(scale)")
        }
    }

    @Test(
        "refusals come before any work and leave nothing behind",
        .enabled(if: model != nil, "scripts/fetch-model.sh could not fetch SmolLM2-135M-Instruct"))
    func refusals() throws {
        let model = try #require(Self.model)
        let dir = try Self.scratch("refusals")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let hf = try BinaryRunner.run([
            "quantize-model", model, "--out", dir + "/o", "--format", "spqr-hf", "--wbits", "4",
        ])
        #expect(hf.status == 1 && hf.stderr.contains("wbits 3 (given 4)"), "\(hf.stderr)")
        let recipe = Recipe.make(
            model: .init(path: model, files: []),
            calibration: .init(kind: .none, file: nil, tensor: nil, sha256: nil, nSequences: nil, label: "none"),
            defaults: SpQRConfig(), configs: ["model.layers.0.mlp.up_proj.weight": SpQRConfig()],
            shapes: ["model.layers.0.mlp.up_proj.weight": [2048, 576]], reports: [:])
        try recipe.write(to: dir + "/recipe.json", overwrite: true)
        let other = try BinaryRunner.run([
            "quantize-model", model, "--recipe", dir + "/recipe.json", "--out", dir + "/o",
        ])
        #expect(other.status == 1 && other.stderr.contains("has shape [2048, 576] but the model's is [1536, 576]"))
        #expect(FileManager.default.createFile(atPath: dir + "/exists.gguf", contents: Data()))
        let exists = try BinaryRunner.run(["quantize-model", model, "--out", dir + "/exists.gguf"])
        #expect(exists.status == 1 && exists.stderr.contains("already exists"), "\(exists.stderr)")
        let both = try BinaryRunner.run(["quantize-model", model, "--out", dir + "/o", "--text", "t", "--imatrix", "i"])
        #expect(both.status == 2 && both.stderr.contains("give one calibration source"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["exists.gguf", "recipe.json"])
    }

    /// A tiny random LLaMA directory (2 blocks, hidden 32, BF16 weights) with config.json and a tokenizer
    /// stand-in file that must be copied; with `tokenizer`, a vocabulary of 600 and the 600-token
    /// byte-level BPE tokenizer of the tiny-smollm fixture, so text can be run through it.
    static func tinyLlama(_ dir: String, tokenizer: Bool = false) throws {
        let vocabulary = tokenizer ? 600 : 64
        let config: [String: Any] = [
            "model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 32,
            "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
            "vocab_size": vocabulary, "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": true,
        ]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/config.json"))
        if tokenizer {
            for f in ["tokenizer.json", "tokenizer_config.json"] {
                try FileManager.default.copyItem(
                    atPath: TokenizeCommandTests.fixtures + "/tiny-smollm/" + f, toPath: dir + "/" + f)
            }
        } else {
            try Data("{\"stand-in\": true}".utf8).write(to: URL(fileURLWithPath: dir + "/tokenizer_config.json"))
        }
        var rng = SeededRandom(seed: 11)
        func bf16(_ name: String, _ shape: [Int], offset: Float = 0) -> SafetensorsWriter.Tensor {
            var bits: [UInt16] = []
            for _ in 0..<shape.reduce(1, *) { bits.append(FloatConversion.bfloat16Bits(offset + 0.2 * rng.gaussian())) }
            return .init(name: name, dtype: .BF16, shape: shape, bytes: bits.withUnsafeBytes { Data($0) })
        }
        var tensors = [
            bf16("model.embed_tokens.weight", [vocabulary, 32]), bf16("model.norm.weight", [32], offset: 1),
        ]
        for b in 0..<2 {
            let p = "model.layers.\(b)."
            tensors += [
                bf16(p + "self_attn.q_proj.weight", [32, 32]), bf16(p + "self_attn.k_proj.weight", [16, 32]),
                bf16(p + "self_attn.v_proj.weight", [16, 32]), bf16(p + "self_attn.o_proj.weight", [32, 32]),
                bf16(p + "mlp.gate_proj.weight", [48, 32]), bf16(p + "mlp.up_proj.weight", [48, 32]),
                bf16(p + "mlp.down_proj.weight", [32, 48]), bf16(p + "input_layernorm.weight", [32], offset: 1),
                bf16(p + "post_attention_layernorm.weight", [32], offset: 1),
            ]
        }
        try SafetensorsWriter.write(tensors, to: dir + "/model.safetensors")
    }

    @Test("a Hugging Face directory in gives a directory out: same files and names, quantized layers in BF16")
    func huggingFaceDirectory() throws {
        let (dir, source) = try Self.scratchWithTinyLlama("hf-directory")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let out = dir + "/tiny-spqr"
        let run = try BinaryRunner.run(["quantize-model", source, "--out", out, "--json"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: out).sorted()
                == ["config.json", "model.safetensors", "tokenizer_config.json"])
        for f in ["config.json", "tokenizer_config.json"] {
            #expect(
                FileManager.default.contents(atPath: out + "/" + f)
                    == FileManager.default.contents(atPath: source + "/" + f))
        }
        let a = try SafetensorsFile(path: source + "/model.safetensors")
        let b = try SafetensorsFile(path: out + "/model.safetensors")
        #expect(a.tensors.map(\.name) == b.tensors.map(\.name))
        let journal = try JSONSerialization.jsonObject(with: Data(run.stdout.utf8)) as? [String: Any]
        let reported = Set(((journal?["layers"] as? [[String: Any]]) ?? []).compactMap { $0["layer"] as? String })
        #expect(reported.count == 14)
        for t in a.tensors {
            #expect(try b.info(t.name).dtypeName == "BF16", "\(t.name)")
            let same = try a.floats(t.name) == b.floats(t.name)
            // Quantized layers change; embeddings and norms come through as they were.
            #expect(same == !reported.contains(t.name), "\(t.name)")
        }
    }
}
