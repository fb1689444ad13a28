// Hugging Face SpQR directories: written from the SmolLM2 sample and from a Hugging Face directory, read
// back (every tensor, dtype, length, the metadata, config.json), written atomically, and hostile
// directories refused with specific errors.

import Foundation
import Testing

@testable import SpQRCore

/// `dir`'s file names, hidden ones included.
private func listing(_ dir: String) -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() }

/// The config.json object of `dir`.
private func configJSON(_ dir: String) throws -> [String: Any] {
    let data = try #require(FileManager.default.contents(atPath: dir + "/config.json"))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

/// A packed layer of a synthetic `out` × `in` SpQR run with outliers and act_order.
private func smallPacked(out: Int = 32, in n: Int = 32) throws -> SpQRHFLayer {
    try SpQRHF.pack(try spqrHFRun(out: out, in: n, outlierThreshold: 0.05))
}

/// Writes a directory holding one quantized module "m" from raw tensors (unchecked) and `quantization`.
private func rawDirectory(
    dense: [UInt64], offsets: [Int32], colVals: [Int32], inPerm: [Int32],
    shapes: [String: Int]? = nil, quantization: [String: Any] = [:], denseDType: SafetensorsDType = .I64
) throws -> String {
    let dir = try temporaryDirectory().path
    func bytes<T>(_ a: [T]) -> Data { a.withUnsafeBytes { Data($0) } }
    try SafetensorsWriter.write(
        [
            .init(name: "m.dense_weights", dtype: denseDType, shape: [dense.count], bytes: bytes(dense)),
            .init(name: "m.row_offsets", dtype: .I32, shape: [offsets.count], bytes: bytes(offsets)),
            .init(name: "m.col_vals", dtype: .I32, shape: [colVals.count], bytes: bytes(colVals)),
            .init(name: "m.in_perm", dtype: .I32, shape: [inPerm.count], bytes: bytes(inPerm)),
            .f32("norm.weight", shape: [4], [1, 2, 3, 4]),
        ], metadata: ["format": "pt"], to: dir + "/model.safetensors")
    var q: [String: Any] = [
        "quant_method": "spqr", "bits": 3, "beta1": 16, "beta2": 16,
        "shapes": shapes ?? [
            "m.dense_weights.shape": dense.count, "m.row_offsets.shape": offsets.count,
            "m.col_vals.shape": colVals.count, "m.in_perm.shape": inPerm.count,
        ],
    ]
    q.merge(quantization) { $1 }
    let config = try JSONSerialization.data(withJSONObject: ["model_type": "llama", "quantization_config": q])
    try config.write(to: URL(fileURLWithPath: dir + "/config.json"))
    return dir
}

@Suite("spqr-hf format: directories")
struct SpQRHFDirectoryTests {
    static let sample = "\(samplesDirectory)/smollm2-135m-instruct.block15.gguf"
    static let quantized = ["model.layers.15.self_attn.k_proj.weight", "model.layers.15.self_attn.v_proj.weight"]

    @Test("a directory written from the SmolLM2 sample reads back: every tensor, dtype, length, the metadata and config.json")
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
            [.f32("model.layers.0.mlp.up_proj.weight", shape: [32, 32], w.values), .f32("model.norm.weight", shape: [3], [1, 0.5, 70000])],
            to: src + "/model.safetensors")
        for name in ["tokenizer.json", "generation_config.json", "merges.txt"] {
            try Data("{\"\(name)\": 1}".utf8).write(to: URL(fileURLWithPath: "\(src)/\(name)"))
        }
        let dir = try temporaryDirectory().path + "/q"
        let source = try ModelFiles.openCheckpoint(src)
        let run = { (_: String) in try smallPacked() }
        // 70000 does not fit fp16: refused, and nothing is left behind.
        let message = errorMessage(path: "model.norm.weight") {
            try SpQRHFWriter.write(source: source, baseConfig: [:], quantized: ["model.layers.0.mlp.up_proj.weight"], packed: run, to: dir)
        }
        #expect(message == "value 70000.0 at element 2 is beyond fp16's range (±65504); spqr-hf stores the model in fp16")
        #expect(listing((dir as NSString).deletingLastPathComponent).isEmpty)
        try SafetensorsWriter.write(
            [.f32("model.layers.0.mlp.up_proj.weight", shape: [32, 32], w.values), .f32("model.norm.weight", shape: [3], [1, 0.5, 7])],
            to: src + "/model.safetensors")
        try SpQRHFWriter.write(
            source: try ModelFiles.openCheckpoint(src), baseConfig: [:], quantized: ["model.layers.0.mlp.up_proj.weight"],
            packed: run, to: dir)
        #expect(listing(dir) == ["config.json", "generation_config.json", "merges.txt", "model.safetensors", "tokenizer.json"])
        #expect(FileManager.default.contents(atPath: dir + "/tokenizer.json") == FileManager.default.contents(atPath: src + "/tokenizer.json"))
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
            try SpQRHFWriter.write(source: source, baseConfig: [:], quantized: [], packed: { _ in throw Boom() }, to: dir)
        }
        #expect(existing == "already exists and is not empty; choose a new directory")
        #expect(listing(dir) == ["keep"])
        let nowhere = parent + "/missing/out"
        let unwritable = errorMessage(path: nowhere) {
            try SpQRHFWriter.write(source: source, baseConfig: [:], quantized: [], packed: { _ in throw Boom() }, to: nowhere)
        }
        #expect(unwritable.hasPrefix("cannot create a directory in \(parent)/missing ("))
        let wrongShape = errorMessage(path: "model.layers.15.self_attn.k_proj.weight") {
            try SpQRHFWriter.write(
                source: source, baseConfig: [:], quantized: [Self.quantized[0]], packed: { _ in try smallPacked() },
                to: parent + "/other")
        }
        #expect(wrongShape == "the packed layer is 32 × 32 but the tensor is 192 × 576")
        #expect(listing(parent) == ["out"])
    }

    @Test("a hand-built directory of a packed layer opens and decodes like the layer")
    func rawDirectoryOpens() throws {
        let l = try smallPacked()
        let dir = try rawDirectory(dense: l.denseWeights, offsets: l.rowOffsets, colVals: l.colVals, inPerm: l.inPerm)
        let c = try SpQRHFCheckpoint(path: dir)
        #expect(c.tensors.map(\.name) == ["m.weight", "norm.weight"])
        #expect(try c.layer("m.weight") == l)
        #expect(try c.matrix("m.weight") == l.dequantized())
    }

    @Test("hostile directories give specific errors")
    func hostile() throws {
        let l = try smallPacked()
        #expect(l.outlierCount >= 2)
        let d = l.denseWeights, o = l.rowOffsets, v = l.colVals, p = l.inPerm
        var decreasing = o
        decreasing[5] = decreasing[6] + 1
        var farColumn = v
        farColumn[1] = Int32(bitPattern: UInt32(bitPattern: v[1]) & 0xffff_0000 | 40)
        var twice = p
        twice[1] = p[0]
        var nonFinite = v
        nonFinite[0] = Int32(bitPattern: UInt32(Float16.infinity.bitPattern) << 16)
        let cases: [(String, () throws -> String)] = [
            ("quantization_config.shapes has no \"m.in_perm.shape\"; every quantized module needs all four", {
                try rawDirectory(dense: d, offsets: o, colVals: v, inPerm: p, shapes: [
                    "m.dense_weights.shape": d.count, "m.row_offsets.shape": o.count, "m.col_vals.shape": v.count,
                ])
            }),
            ("tensor \"m.col_vals\" is I32 [\(v.count)]; quantization_config.shapes says I32 [\(v.count + 1)]", {
                try rawDirectory(dense: d, offsets: o, colVals: v, inPerm: p, shapes: [
                    "m.dense_weights.shape": d.count, "m.row_offsets.shape": o.count,
                    "m.col_vals.shape": v.count + 1, "m.in_perm.shape": p.count,
                ])
            }),
            ("tensor \"m.dense_weights\" is F64 [\(d.count)]; quantization_config.shapes says I64 [\(d.count)]", {
                try rawDirectory(dense: d, offsets: o, colVals: v, inPerm: p, denseDType: .F64)
            }),
            ("m: dense_weights has \(d.count - 16) words; 32 × 32 needs 64", {
                try rawDirectory(dense: Array(d.dropLast(16)), offsets: o, colVals: v, inPerm: p)
            }),
            ("m: row_offsets decreases at row 5 (\(decreasing[5]) then \(o[6]))", {
                try rawDirectory(dense: d, offsets: decreasing, colVals: v, inPerm: p)
            }),
            ("m: col_vals[1] names column 40; the layer has 32", {
                try rawDirectory(dense: d, offsets: o, colVals: farColumn, inPerm: p)
            }),
            ("m: col_vals[0] holds a non-finite value inf", {
                try rawDirectory(dense: d, offsets: o, colVals: nonFinite, inPerm: p)
            }),
            ("m: in_perm is not a permutation of 0…31: entry 1 holds \(UInt32(bitPattern: p[0]) & 0xffff) twice", {
                try rawDirectory(dense: d, offsets: o, colVals: v, inPerm: twice)
            }),
            ("m: row_offsets ends at \(o.last!) but col_vals has \(v.count - 1) entries", {
                try rawDirectory(dense: d, offsets: o, colVals: Array(v.dropLast()), inPerm: p)
            }),
            ("quantization_config.bits is 4; spqr-hf holds only 3", {
                try rawDirectory(dense: d, offsets: o, colVals: v, inPerm: p, quantization: ["bits": 4])
            }),
            ("quantization_config.shapes is missing", {
                try rawDirectory(dense: d, offsets: o, colVals: v, inPerm: p, quantization: ["shapes": "x"])
            }),
        ]
        for (expected, build) in cases {
            let dir = try build()
            let message = errorMessage(path: dir) { _ = try SpQRHFCheckpoint(path: dir) }
            #expect(message.hasSuffix(expected), "\(message)")
        }
        // Truncated data: the safetensors reader refuses the file.
        let dir = try rawDirectory(dense: d, offsets: o, colVals: v, inPerm: p)
        let path = dir + "/model.safetensors"
        let bytes = try #require(FileManager.default.contents(atPath: path))
        try bytes.prefix(bytes.count - 9).write(to: URL(fileURLWithPath: path))
        let truncated = errorMessage(path: path) { _ = try ModelFiles.openCheckpoint(dir) }
        #expect(truncated.contains("outside the") && truncated.contains("data section"), "\(truncated)")
    }
}
