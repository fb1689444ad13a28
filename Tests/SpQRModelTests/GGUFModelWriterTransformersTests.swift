// A whole SmolLM2-135M-Instruct Q4_1 GGUF written with nothing replaced is the source file byte for byte;
// written with replaced q, k and down matrices (F16) it loads in transformers, whose GGUF loader undoes
// llama.cpp's rotary order on its own: its q_proj and k_proj come back as the replacements rounded to half,
// so the rows the writer put back in rotary order are the rows transformers expects; an untouched Q4_1
// matrix equals the project's dequantization.

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore

@Suite("GGUF model writer against transformers")
struct GGUFModelWriterTransformersTests {
    static let replaced = [
        "model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight",
        "model.layers.5.mlp.down_proj.weight",
    ]
    static let untouched = "model.layers.0.self_attn.v_proj.weight"

    @Test(
        "the whole model written with nothing replaced is the source file byte for byte (tokenizer arrays included)",
        .enabled(if: smolLM2GGUF != nil))
    func copy() throws {
        let c = try GGUFCheckpoint(path: smolLM2GGUF!)
        #expect(c.file.metadata["tokenizer.ggml.tokens"]?.arrayValue?.count == 49152)
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("spqr-writer-\(UUID().uuidString).gguf")
        defer { try? FileManager.default.removeItem(at: out) }
        try GGUFModelWriter.write(source: c, replacing: .none, weightType: .f16, to: out.path)
        #expect(try Data(contentsOf: out) == Data(contentsOf: URL(fileURLWithPath: c.path)))
    }

    @Test(
        "transformers loads the written model with the replaced weights in Hugging Face order",
        .enabled(if: smolLM2GGUF != nil && Python.has("torch, transformers, gguf, safetensors")))
    func transformersLoads() throws {
        let c = try GGUFCheckpoint(path: smolLM2GGUF!)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spqr-writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // Each replacement is the source matrix with its rows scaled by 1 + row/rows, so that a row moved to
        // the wrong place shows.
        let replacement = { @Sendable (name: String) throws -> Matrix in
            var m = try c.matrix(name)
            for r in 0..<m.rows {
                for j in 0..<m.cols { m.values[r * m.cols + j] *= 1 + Float(r) / Float(m.rows) }
            }
            return m
        }
        try GGUFModelWriter.write(
            source: c, replacing: TensorReplacements(names: Set(Self.replaced), load: replacement), weightType: .f16,
            to: dir.appendingPathComponent("model.gguf").path)
        let saved = dir.appendingPathComponent("from-transformers.safetensors").path
        _ = try Python.run(
            """
            import sys
            from transformers import AutoModelForCausalLM
            from safetensors.torch import save_file
            m = AutoModelForCausalLM.from_pretrained(sys.argv[1], gguf_file="model.gguf")
            state = m.state_dict()
            save_file({n: state[n].float().contiguous() for n in " ".join(sys.argv[3:]).split()}, sys.argv[2])
            """, dir.path, saved, Self.replaced.joined(separator: " "), Self.untouched)
        let loaded = try SafetensorsFile(path: saved)
        for name in Self.replaced {
            let want = try replacement(name).values.map { Float(Float16($0)) }
            #expect(try loaded.floats(name) == want, "\(name)")
        }
        #expect(try loaded.floats(Self.untouched) == c.matrix(Self.untouched).values)
    }
}
