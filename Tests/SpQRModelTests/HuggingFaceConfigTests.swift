// The config.json a model gets (ModelConfig.huggingFaceConfig): for the SmolLM2 GGUF, the fields transformers
// reads from the same GGUF (Fixtures/smollm2-hf-config.json, written by tools/make_hf_config_fixture.py);
// for every family and RoPE scaling, reading it back gives the same configuration; and a Hugging Face SpQR
// directory written from a tiny model runs in the runtime like its decoded weights.

import Foundation
import XCTest

@testable import SpQRCore
@testable import SpQRModel

final class HuggingFaceConfigTests: XCTestCase {
    func testSmolLM2ConfigMatchesTransformers() throws {
        guard let path = smolLM2GGUF else { throw XCTSkip(smolLM2Missing) }
        let config = try ModelConfig.gguf(try GGUFFile(path: path)).huggingFaceConfig()
        // Through JSON, so that numbers and booleans compare as the fixture's do.
        let ours = try XCTUnwrap(
            try JSONSerialization.jsonObject(with: JSONSerialization.data(withJSONObject: config)) as? [String: Any])
        let data = try XCTUnwrap(FileManager.default.contents(atPath: modelFixtures + "/smollm2-hf-config.json"))
        let expected = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        for (key, value) in expected where key != "_source" {
            switch key {
            case "rms_norm_eps":
                let eps = try XCTUnwrap(ours[key] as? Double)
                XCTAssertEqual(eps, try XCTUnwrap(value as? Double), accuracy: 1e-6 * eps)
            case "rope_scaling":
                XCTAssert(value is NSNull && ours[key] == nil)
            default:
                XCTAssert(
                    (ours[key] as? NSObject)?.isEqual(value) == true, "\(key): \(ours[key] ?? "missing") ≠ \(value)")
            }
        }
        XCTAssertEqual(Set(ours.keys).subtracting(expected.keys), [])
    }

    /// Every family and RoPE scaling survives config.json.
    func testConfigurationsReadBack() throws {
        let base: [String: Any] = [
            "model_type": "llama", "hidden_size": 64, "intermediate_size": 96, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 50, "rms_norm_eps": 1e-5,
            "rope_theta": 500000.0, "tie_word_embeddings": false, "max_position_embeddings": 4096,
            "bos_token_id": 1, "eos_token_id": 2,
        ]
        let variants: [[String: Any]] = [
            [:], ["model_type": "qwen2", "tie_word_embeddings": true], ["model_type": "mistral", "sliding_window": 7],
            ["rope_scaling": ["rope_type": "linear", "factor": 2.0]], ["head_dim": 32],
            [
                "rope_scaling": [
                    "rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                    "original_max_position_embeddings": 8192,
                ]
            ],
        ]
        for v in variants {
            let c = try ModelConfig.fromJSON(base.merging(v) { $1 })
            XCTAssertEqual(try ModelConfig.fromJSON(c.huggingFaceConfig()), c, "\(v)")
        }
    }

    /// A GGUF's LLaMA 3 divisors (rope_freqs.weight) become llama3 parameters with the same frequencies.
    func testLlama3DivisorsBecomeParameters() throws {
        var c = try ModelConfig.fromJSON([
            "model_type": "llama", "hidden_size": 2048, "intermediate_size": 8192, "num_hidden_layers": 16,
            "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256, "rope_theta": 500000.0,
            "head_dim": 64,
            "rope_scaling": [
                "rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                "original_max_position_embeddings": 8192,
            ],
        ])
        let scaled = c.inverseFrequencies()
        c.ropeScaling = .none
        let plain = c.inverseFrequencies()
        c.ropeScaling = .divisors(zip(plain, scaled).map { $0 / $1 })
        let json = c.huggingFaceConfig()
        let scaling = try XCTUnwrap(json["rope_scaling"] as? [String: Any])
        XCTAssertEqual(scaling["rope_type"] as? String, "llama3")
        XCTAssertEqual(scaling["factor"] as? Double, 32)
        XCTAssertEqual(scaling["low_freq_factor"] as? Double, 1)
        XCTAssertEqual(try XCTUnwrap(scaling["high_freq_factor"] as? Double), 4, accuracy: 1e-3)
        XCTAssertEqual(scaling["original_max_position_embeddings"] as? Int, 8192)
        let back = try ModelConfig.fromJSON(json).inverseFrequencies()
        for (a, b) in zip(back, scaled) { XCTAssertEqual(a, b, accuracy: 1e-5 * b) }
    }

    /// A tiny model with its 16 × 16 q_proj and o_proj quantized: the runtime reads the SpQR directory
    /// (its config.json with quantization_config) and computes the logits of the decoded weights.
    func testSpQRDirectoryRunsInTheRuntime() throws {
        var tiny = TinyModel(["tie_word_embeddings": false])
        try tiny.write()
        defer { tiny.remove() }
        let out = NSTemporaryDirectory() + "spqr-hf-tiny-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: out) }
        let config = try ModelConfig.fromJSON(tiny.config)
        let quantized = (0..<config.blocks).flatMap { b in
            ["self_attn.q_proj", "self_attn.o_proj"].map { "model.layers.\(b).\($0).weight" }
        }
        let source = try ModelFiles.openCheckpoint(tiny.dir)
        try SpQRHFWriter.write(
            source: source, baseConfig: config.huggingFaceConfig(), quantized: quantized,
            packed: { name in
                let w = try source.matrix(name)
                let spqr = SpQRConfig()
                let layer = try PreparedLayer(name: name, weights: w, hessian: Matrix.identity(w.cols), config: spqr)
                return try SpQRHF.pack(try SpQR.run(layer, config: spqr), name: name)
            }, to: out)
        let written = try ModelFiles.openCheckpoint(out)
        XCTAssert(written is SpQRHFCheckpoint)
        for name in tiny.tensors.keys {
            let values = try written.matrixOrVector(name)
            if quantized.contains(name) {
                XCTAssertNotEqual(values, tiny.tensors[name]!.values, name)
            } else {
                XCTAssertEqual(values, tiny.tensors[name]!.values.map { Float(Float16($0)) }, name)
            }
            tiny.tensors[name]!.values = values
        }
        let model = try Decoder(path: out)
        XCTAssertEqual(model.config, config)
        var rng = SeededRandom(seed: 5)
        let ids = (0..<10).map { _ in Int(rng.next() % 50) }
        let x = try model.embed([ids])
        for b in 0..<model.config.blocks { try model.runBlock(b, on: x) }
        let v = model.config.vocabulary
        let logits = FloatBuffer(ids.count * v)
        let normed = FloatBuffer(ids.count * model.config.hidden)
        model.finalNormed(x, window: 0, into: normed.pointer)
        model.logits(normed: normed.pointer, rows: ids.count, into: logits.pointer)
        let ref = tiny.referenceLogits(ids)
        let scale = ref.flatMap { $0 }.map(abs).max()!
        var worst = 0.0
        for i in 0..<ids.count {
            for j in 0..<v { worst = max(worst, abs(Double(logits.pointer[i * v + j]) - ref[i][j]) / scale) }
        }
        XCTAssertLessThan(worst, 1e-4)
    }
}

extension Checkpoint {
    /// Every value of tensor `name` through `load(_:into:)`.
    fileprivate func matrixOrVector(_ name: String) throws -> [Float] {
        var values = [Float](repeating: .nan, count: try entry(name).elementCount)
        try values.withUnsafeMutableBufferPointer { try load(name, into: $0) }
        return values
    }
}
