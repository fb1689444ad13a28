// The forward pass against a direct, per-token implementation in Double (written from the transformers
// modeling code, sharing nothing with the runtime) on tiny random models saved as safetensors with a
// config.json: grouped-query attention, Qwen2 biases, a separate lm_head, LLaMA-3 RoPE scaling, Mistral's
// sliding window, sharded checkpoints; and the errors for unsupported or inconsistent models.

import Foundation
import XCTest

@testable import SpQRCore
@testable import SpQRModel

/// A tiny random LLaMA-family model written to a temporary directory.
struct TinyModel {
    var config: [String: Any]
    var tensors: [String: (shape: [Int], values: [Float])] = [:]
    let dir: String

    init(_ overrides: [String: Any] = [:], seed: UInt64 = 7) {
        config = [
            "model_type": "llama", "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 2,
            "num_attention_heads": 4, "num_key_value_heads": 2, "vocab_size": 50, "rms_norm_eps": 1e-5,
            "rope_theta": 10000.0, "tie_word_embeddings": true, "hidden_act": "silu",
        ]
        for (k, v) in overrides { config[k] = v }
        dir = NSTemporaryDirectory() + "spqr-tiny-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        var rng = SeededRandom(seed: seed)
        let c = try! ModelConfig.fromJSON(config)
        func add(_ name: String, _ shape: [Int], scale: Float, offset: Float = 0) {
            tensors[name] = (shape, (0..<shape.reduce(1, *)).map { _ in offset + scale * rng.gaussian() })
        }
        add("model.embed_tokens.weight", [c.vocabulary, c.hidden], scale: 1)
        add("model.norm.weight", [c.hidden], scale: 0.1, offset: 1)
        if !c.tiedEmbeddings { add("lm_head.weight", [c.vocabulary, c.hidden], scale: 0.5) }
        for b in 0..<c.blocks {
            for part in BlockWeights.parts(c) {
                let norm = part.name.hasSuffix("norm.weight")
                add("model.layers.\(b).\(part.name)", part.shape, scale: norm ? 0.1 : 0.3, offset: norm ? 1 : 0)
            }
        }
    }

    /// Writes config.json and the weights (in `shards` files with an index when more than one).
    func write(shards: Int = 1) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: dir + "/config.json"))
        let names = tensors.keys.sorted()
        var map: [String: String] = [:]
        for s in 0..<shards {
            let file = shards == 1 ? "model.safetensors" : "model-\(s + 1)-of-\(shards).safetensors"
            let mine = names.enumerated().filter { $0.offset % shards == s }.map(\.element)
            for n in mine { map[n] = file }
            try SafetensorsWriter.write(
                mine.map { .f32($0, shape: tensors[$0]!.shape, tensors[$0]!.values) }, to: dir + "/" + file)
        }
        if shards > 1 {
            try JSONSerialization.data(withJSONObject: ["weight_map": map]).write(
                to: URL(fileURLWithPath: dir + "/model.safetensors.index.json"))
        }
    }

    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    /// Logits [T][vocabulary] of one window, computed token by token in Double.
    func referenceLogits(_ ids: [Int]) -> [[Double]] {
        let c = try! ModelConfig.fromJSON(config)
        func w(_ n: String) -> [Double] { tensors[n]!.values.map(Double.init) }
        func matvec(_ m: [Double], _ x: [Double], rows: Int) -> [Double] {
            (0..<rows).map { r in (0..<x.count).reduce(0.0) { $0 + m[r * x.count + $1] * x[$1] } }
        }
        func norm(_ x: [Double], _ g: [Double]) -> [Double] {
            let ms = x.reduce(0) { $0 + $1 * $1 } / Double(x.count)
            return zip(x, g).map { $0 / (ms + Double(c.rmsEps)).squareRoot() * $1 }
        }
        let d = c.headDim
        let half = d / 2
        let inv = c.inverseFrequencies().map(Double.init)
        func rope(_ v: [Double], pos: Int, heads: Int) -> [Double] {
            var o = v
            for h in 0..<heads {
                for i in 0..<half {
                    let a = v[h * d + i]
                    let b = v[h * d + i + half]
                    let ang = Double(pos) * inv[i]
                    o[h * d + i] = a * cos(ang) - b * sin(ang)
                    o[h * d + i + half] = b * cos(ang) + a * sin(ang)
                }
            }
            return o
        }
        var x = ids.map { id in (0..<c.hidden).map { w("model.embed_tokens.weight")[id * c.hidden + $0] } }
        for b in 0..<c.blocks {
            let p = "model.layers.\(b)."
            let n = x.map { norm($0, w(p + "input_layernorm.weight")) }
            func proj(_ name: String, _ rows: Int) -> [[Double]] {
                n.map { v in
                    let y = matvec(w(p + "self_attn.\(name).weight"), v, rows: rows)
                    return c.attentionBias ? zip(y, w(p + "self_attn.\(name).bias")).map(+) : y
                }
            }
            let q = proj("q_proj", c.heads * d).enumerated().map { rope($1, pos: $0, heads: c.heads) }
            let k = proj("k_proj", c.kvHeads * d).enumerated().map { rope($1, pos: $0, heads: c.kvHeads) }
            let v = proj("v_proj", c.kvHeads * d)
            for i in 0..<ids.count {
                var attended = [Double](repeating: 0, count: c.heads * d)
                for h in 0..<c.heads {
                    let g = h / (c.heads / c.kvHeads)
                    let visible = (0...i).filter { j in c.slidingWindow.map { i - j < $0 } ?? true }
                    let s = visible.map { j in
                        (0..<d).reduce(0.0) { $0 + q[i][h * d + $1] * k[j][g * d + $1] } / Double(d).squareRoot()
                    }
                    let m = s.max()!
                    let e = s.map { exp($0 - m) }
                    let z = e.reduce(0, +)
                    for (jj, j) in visible.enumerated() {
                        for t in 0..<d { attended[h * d + t] += e[jj] / z * v[j][g * d + t] }
                    }
                }
                x[i] = zip(x[i], matvec(w(p + "self_attn.o_proj.weight"), attended, rows: c.hidden)).map(+)
                let m = norm(x[i], w(p + "post_attention_layernorm.weight"))
                let gate = matvec(w(p + "mlp.gate_proj.weight"), m, rows: c.intermediate)
                let up = matvec(w(p + "mlp.up_proj.weight"), m, rows: c.intermediate)
                let a = zip(gate, up).map { $0 / (1 + exp(-$0)) * $1 }
                x[i] = zip(x[i], matvec(w(p + "mlp.down_proj.weight"), a, rows: c.hidden)).map(+)
            }
        }
        let out = c.tiedEmbeddings ? w("model.embed_tokens.weight") : w("lm_head.weight")
        return x.map { matvec(out, norm($0, w("model.norm.weight")), rows: c.vocabulary) }
    }
}

extension ModelConfig {
    /// The configuration of a config.json object (through a temporary file, as models are read).
    static func fromJSON(_ json: [String: Any]) throws -> ModelConfig {
        let path = NSTemporaryDirectory() + "spqr-config-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).json"
        defer { unlink(path) }
        try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: path))
        return try huggingFace(configPath: path)
    }
}

final class TinyDecoderTests: XCTestCase {
    /// Runs two windows of `length` tokens and compares every logit with the Double reference: |Δ| ≤ 1e-4 relative to
    /// the largest |logit| (float32 through two blocks; measured figures are near 1e-6).
    func check(
        _ overrides: [String: Any], shards: Int = 1, length t: Int = 12, file: StaticString = #filePath,
        line: UInt = #line
    ) throws {
        let tiny = TinyModel(overrides)
        try tiny.write(shards: shards)
        defer { tiny.remove() }
        let model = try Decoder(path: tiny.dir)
        var rng = SeededRandom(seed: 3)
        let windows = (0..<2).map { _ in (0..<t).map { _ in Int(rng.next() % 50) } }
        let x = try model.embed(windows)
        for b in 0..<model.config.blocks { try model.runBlock(b, on: x) }
        let v = model.config.vocabulary
        let logits = FloatBuffer(t * v)
        let normed = FloatBuffer(t * model.config.hidden)
        for (w, ids) in windows.enumerated() {
            model.finalNormed(x, window: w, into: normed.pointer)
            model.logits(normed: normed.pointer, rows: t, into: logits.pointer)
            let ref = tiny.referenceLogits(ids)
            let scale = ref.flatMap { $0 }.map(abs).max()!
            var worst = 0.0
            for i in 0..<t {
                for j in 0..<v { worst = max(worst, abs(Double(logits.pointer[i * v + j]) - ref[i][j]) / scale) }
            }
            XCTAssertLessThan(worst, 1e-4, "\(overrides)", file: file, line: line)
        }
    }

    func testLlamaWithGroupedQueryAttention() throws { try check([:]) }
    func testSeparateOutputLayerAndShards() throws { try check(["tie_word_embeddings": false], shards: 3) }
    /// Windows longer than one block of query rows (Kernels.causalBlock), with and without a sliding window
    /// that starts inside the second block.
    func testLongWindowsAcrossAttentionBlocks() throws {
        try check([:], length: Kernels.causalBlock + 40)
        try check(["model_type": "mistral", "sliding_window": 100], length: Kernels.causalBlock + 40)
    }

    func testQwen2Biases() throws { try check(["model_type": "qwen2"]) }
    func testMistralSlidingWindow() throws {
        try check(["model_type": "mistral", "sliding_window": 5, "num_key_value_heads": 1])
    }
    func testLlama3RopeScaling() throws {
        try check([
            "rope_theta": 500000.0,
            "rope_scaling": [
                "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                "high_freq_factor": 4.0, "original_max_position_embeddings": 16,
            ],
        ])
    }

    func testUnsupportedArchitectureIsNamed() throws {
        XCTAssertThrowsError(try ModelConfig.fromJSON(["model_type": "gpt2"])) { e in
            let m = (e as! SpQRError).message
            XCTAssertTrue(m.contains("\"gpt2\" is not supported") && m.contains("mistral") && m.contains("qwen2"), m)
        }
    }

    func testMissingAndMisshapenTensorsAreNamed() throws {
        var tiny = TinyModel()
        tiny.tensors["model.layers.1.mlp.up_proj.weight"] = nil
        try tiny.write()
        XCTAssertThrowsError(try Decoder(path: tiny.dir)) { e in
            XCTAssertTrue((e as! SpQRError).message.contains("model.layers.1.mlp.up_proj.weight is missing"), "\(e)")
        }
        tiny.remove()
        let integer = TinyModel()
        try integer.write()
        try SafetensorsWriter.write(
            integer.tensors.keys.sorted().map { name in
                name == "model.norm.weight"
                    ? .u8(name, shape: [16], [UInt8](repeating: 1, count: 16))
                    : .f32(name, shape: integer.tensors[name]!.shape, integer.tensors[name]!.values)
            }, to: integer.dir + "/model.safetensors")
        XCTAssertThrowsError(try Decoder(path: integer.dir)) { e in
            XCTAssertTrue((e as! SpQRError).message.contains("model.norm.weight is stored as U8"), "\(e)")
        }
        integer.remove()
        var other = TinyModel(["intermediate_size": 24])
        other.config["intermediate_size"] = 32
        try other.write()
        defer { other.remove() }
        XCTAssertThrowsError(try Decoder(path: other.dir)) { e in
            XCTAssertTrue((e as! SpQRError).message.contains("implies [32, 16]"), "\(e)")
        }
    }
}
