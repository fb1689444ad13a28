// Hugging Face SpQR directories: written from the SmolLM2 sample and from a Hugging Face directory, read
// back (every tensor, dtype, length, the metadata, config.json), and written atomically.

import Foundation
import Testing

@testable import SpQRCore

/// `dir`'s file names, hidden ones included.
private func listing(_ dir: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted()
}

/// The config.json object of `dir`.
private func configJSON(_ dir: String) throws -> [String: Any] {
    let data = try #require(FileManager.default.contents(atPath: dir + "/config.json"))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

/// A packed layer of a synthetic `out` × `in` SpQR run with outliers and act_order.
func smallPacked(out: Int = 32, in n: Int = 32) throws -> SpQRHFLayer {
    try SpQRHF.pack(try spqrHFRun(out: out, in: n, outlierThreshold: 0.05))
}

@Suite("spqr-hf format: directories")
struct SpQRHFDirectoryTests {
    static let sample = "\(samplesDirectory)/smollm2-135m-instruct.block15.gguf"
    static let quantized = ["model.layers.15.self_attn.k_proj.weight", "model.layers.15.self_attn.v_proj.weight"]

    @Test(
        "a directory written from the SmolLM2 sample reads back: every tensor, dtype, length, the metadata and config.json"
    )
    func writeAndRead() throws {
        let source = try ModelFiles.openCheckpoint(Self.sample)
        let parent = try temporaryDirectory().path
        let dir = parent + "/out"
        var packedLayers: [String: SpQRHFLayer] = [:]
        try SpQRHFWriter.write(
            source: source, baseConfig: ["model_type": "llama", "hidden_size": 576], quantized: Self.quantized,
            packed: { name in
                let layer = try SpQRHF.pack(try spqrHFRun(layer: name), name: name)
                packedLayers[name] = layer
                return layer
            }, to: dir)
        #expect(listing(parent) == ["out"])
        #expect(listing(dir) == ["config.json", "model.safetensors"])
        let c = try ModelFiles.openCheckpoint(dir)
        #expect(c is SpQRHFCheckpoint)
        #expect(c.tensors.map(\.name) == source.tensors.map(\.name))
        for e in source.tensors {
            let r = try c.entry(e.name)
            let read = try loaded(c, r)
            if let layer = packedLayers[e.name] {
                #expect(r.dtype == "SPQR3" && r.shape == e.shape && r.isQuantizable)
                #expect(r.bitsPerWeight == Double(layer.storageBits) / Double(e.elementCount))
                #expect(r.note == "dequantized from the spqr-hf format (3-bit SpQR, \(layer.outlierCount) outliers)")
                #expect(read == layer.dequantized().values)
                #expect(try c.matrix(e.name).values == read)
            } else {
                #expect(r.dtype == "F16" && r.shape == e.shape)
                #expect(read == (try loaded(source, e)).map { Float(Float16($0)) })
            }
        }
        let file = try SafetensorsFile(path: dir + "/model.safetensors")
        #expect(file.metadata == ["format": "pt"])
        let config = try configJSON(dir)
        #expect(config["model_type"] as? String == "llama" && config["hidden_size"] as? Int == 576)
        #expect(config["torch_dtype"] as? String == "float16")
        let q = try #require(config["quantization_config"] as? [String: Any])
        #expect(Set(q.keys) == ["quant_method", "bits", "beta1", "beta2", "modules_to_not_convert", "shapes"])
        #expect(q["quant_method"] as? String == "spqr" && q["bits"] as? Int == 3)
        #expect(q["beta1"] as? Int == 16 && q["beta2"] as? Int == 16)
        let plainWeights = source.tensors.map(\.name).filter { !Self.quantized.contains($0) && $0.hasSuffix(".weight") }
        #expect(plainWeights.count == source.tensors.count - 2)
        #expect(q["modules_to_not_convert"] as? [String] == plainWeights.sorted() + ["lm_head.weight"])
        let shapes = try #require(q["shapes"] as? [String: Int])
        #expect(shapes.count == 8)
        for (name, layer) in packedLayers {
            let module = String(name.dropLast(".weight".count))
            #expect(!file.contains(name))
            let expected: [(String, String, Int)] = [
                ("dense_weights", "I64", layer.rows * layer.cols / 16), ("row_offsets", "I32", layer.rows + 1),
                ("col_vals", "I32", layer.outlierCount), ("in_perm", "I32", layer.cols / 2),
            ]
            for (part, dtype, length) in expected {
                let t = try file.info("\(module).\(part)")
                #expect(t.dtypeName == dtype && t.shape == [length] && shapes["\(module).\(part).shape"] == length)
            }
        }
        #expect(file.tensors.count == source.tensors.count - 2 + 8)
    }

    /// Every value of `e` through `Checkpoint.load(_:into:)`.
    private func loaded(_ c: any Checkpoint, _ e: TensorEntry) throws -> [Float] {
        var values = [Float](repeating: .nan, count: e.elementCount)
        try values.withUnsafeMutableBufferPointer { try c.load(e.name, into: $0) }
        return values
    }

    @Test("a Hugging Face source directory's tokenizer files are copied; its tensors are stored in F16")
    func huggingFaceSource() throws {
        let src = try temporaryDirectory().path
        let w = syntheticLayer(out: 32, in: 32, seed: 3).w
        try SafetensorsWriter.write(
            [
                .f32("model.layers.0.mlp.up_proj.weight", shape: [32, 32], w.values),
                .f32("model.norm.weight", shape: [3], [1, 0.5, 70000]),
            ],
            to: src + "/model.safetensors")
        for name in ["tokenizer.json", "generation_config.json", "merges.txt"] {
            try Data("{\"\(name)\": 1}".utf8).write(to: URL(fileURLWithPath: "\(src)/\(name)"))
        }
        let dir = try temporaryDirectory().path + "/q"
        let source = try ModelFiles.openCheckpoint(src)
        let run = { (_: String) in try smallPacked() }
        // 70000 does not fit fp16: refused, and nothing is left behind.
        let message = errorMessage(path: "model.norm.weight") {
            try SpQRHFWriter.write(
                source: source, baseConfig: [:], quantized: ["model.layers.0.mlp.up_proj.weight"], packed: run, to: dir)
        }
        #expect(
            message == "value 70000.0 at element 2 is beyond fp16's range (±65504); spqr-hf stores the model in fp16")
        #expect(listing((dir as NSString).deletingLastPathComponent).isEmpty)
        try SafetensorsWriter.write(
            [
                .f32("model.layers.0.mlp.up_proj.weight", shape: [32, 32], w.values),
                .f32("model.norm.weight", shape: [3], [1, 0.5, 7]),
            ],
            to: src + "/model.safetensors")
        try SpQRHFWriter.write(
            source: try ModelFiles.openCheckpoint(src), baseConfig: [:],
            quantized: ["model.layers.0.mlp.up_proj.weight"],
            packed: run, to: dir)
        #expect(
            listing(dir) == [
                "config.json", "generation_config.json", "merges.txt", "model.safetensors", "tokenizer.json",
            ])
        #expect(
            FileManager.default.contents(atPath: dir + "/tokenizer.json")
                == FileManager.default.contents(atPath: src + "/tokenizer.json"))
        let c = try ModelFiles.openCheckpoint(dir)
        #expect(try c.entry("model.norm.weight").dtype == "F16")
        #expect(try loaded(c, try c.entry("model.norm.weight")) == [1, 0.5, 7])
    }

    @Test("a failing layer leaves neither the directory nor a temporary; existing and unwritable targets are refused")
    func atomicity() throws {
        let source = try ModelFiles.openCheckpoint(Self.sample)
        let parent = try temporaryDirectory().path
        let dir = parent + "/out"
        struct Boom: Error {}
        var calls = 0
        #expect(throws: Boom.self) {
            try SpQRHFWriter.write(
                source: source, baseConfig: [:], quantized: Self.quantized,
                packed: { name in
                    calls += 1
                    if calls == 2 { throw Boom() }
                    return try SpQRHF.pack(try spqrHFRun(layer: name))
                }, to: dir)
        }
        #expect(calls == 2 && listing(parent).isEmpty)
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false)
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/keep"))
        let existing = errorMessage(path: dir) {
            try SpQRHFWriter.write(
                source: source, baseConfig: [:], quantized: [], packed: { _ in throw Boom() }, to: dir)
        }
        #expect(existing == "already exists and is not empty; choose a new directory (or an empty one)")
        #expect(listing(dir) == ["keep"])
        let nowhere = parent + "/missing/out"
        let unwritable = errorMessage(path: nowhere) {
            try SpQRHFWriter.write(
                source: source, baseConfig: [:], quantized: [], packed: { _ in throw Boom() }, to: nowhere)
        }
        #expect(unwritable.hasPrefix("cannot create a directory in \(parent)/missing ("))
        let wrongShape = errorMessage(path: "model.layers.15.self_attn.k_proj.weight") {
            try SpQRHFWriter.write(
                source: source, baseConfig: [:], quantized: [Self.quantized[0]], packed: { _ in try smallPacked() },
                to: parent + "/other")
        }
        #expect(wrongShape == "the packed layer is 32 × 32 but the tensor is 192 × 576")
        #expect(listing(parent) == ["out"])
        // An existing empty directory is filled; with nothing quantized every tensor stays F16.
        let empty = parent + "/empty"
        try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: false)
        try SpQRHFWriter.write(source: source, baseConfig: [:], quantized: [], packed: { _ in throw Boom() }, to: empty)
        #expect(listing(parent) == ["empty", "out"])
        #expect(try ModelFiles.openCheckpoint(empty).tensors.allSatisfy { $0.dtype == "F16" })
        let q = try #require(try configJSON(empty)["quantization_config"] as? [String: Any])
        #expect((q["shapes"] as? [String: Int])?.isEmpty == true)
    }
}
