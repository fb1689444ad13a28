// safetensors (files, shards, bad headers, a sparse 100 GB file), Hessian files, importance matrices,
// .npy activations and layer discovery.

import Foundation
import Testing
@testable import SpQRCore

func temporaryDirectory() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spqr-fmt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// A safetensors file with the given raw header JSON and `dataBytes` of zeros.
func rawSafetensors(_ header: String, dataBytes: Int = 0, lengthField: UInt64? = nil) -> Data {
    var d = Data()
    var len = (lengthField ?? UInt64(header.utf8.count)).littleEndian
    withUnsafeBytes(of: &len) { d.append(contentsOf: $0) }
    d.append(Data(header.utf8))
    d.append(Data(count: dataBytes))
    return d
}

func openMessage(_ data: Data) throws -> String {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("x.safetensors").path
    try data.write(to: URL(fileURLWithPath: path))
    do {
        _ = try SafetensorsFile(path: path)
        return "no error"
    } catch let e as SpQRError {
        return e.message.replacingOccurrences(of: path + ": ", with: "")
    }
}

@Suite("safetensors")
struct SafetensorsTests {
    @Test("F32, F16, BF16 and F64 convert to Float; other dtypes are listed but not quantizable")
    func dtypes() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.safetensors").path
        let values: [Float] = [1.5, -2.25, 0.125, 3]
        let f16 = values.map { Float16($0).bitPattern.littleEndian }
        let bf16 = values.map { UInt16($0.bitPattern >> 16).littleEndian }
        let f64 = values.map { Double($0).bitPattern.littleEndian }
        try SafetensorsWriter.write([
            .f32("a.f32", shape: [2, 2], values),
            .init(name: "a.f16", dtype: .F16, shape: [2, 2], bytes: f16.withUnsafeBufferPointer { Data(buffer: $0) }),
            .init(name: "a.bf16", dtype: .BF16, shape: [2, 2], bytes: bf16.withUnsafeBufferPointer { Data(buffer: $0) }),
            .init(name: "a.f64", dtype: .F64, shape: [2, 2], bytes: f64.withUnsafeBufferPointer { Data(buffer: $0) }),
            .i64("a.i64", shape: [2, 2], [1, 2, 3, 4]),
        ], to: path)
        let c = try SafetensorsCheckpoint(path: path)
        for n in ["a.f32", "a.f16", "a.bf16", "a.f64"] { #expect(try c.matrix(n).values == values, "\(n)") }
        let i = try c.entry("a.i64")
        #expect(!i.isQuantizable && i.notQuantizableReason?.contains("dtype I64") == true)
        #expect(throws: SpQRError.self) { try c.matrix("a.i64") }
    }

    @Test("bad headers get specific errors")
    func badHeaders() throws {
        #expect(try openMessage(Data([1, 2, 3])) == "file is 3 bytes, too short for a safetensors header (needs at least 8)")
        #expect(try openMessage(rawSafetensors("{}", lengthField: 1 << 40)).contains("exceeds the 100000000-byte limit"))
        #expect(try openMessage(rawSafetensors("{}", lengthField: 500)) == "header length 500 runs past the end of the 10-byte file (truncated?)")
        #expect(try openMessage(rawSafetensors("{not json}")).hasPrefix("header is not valid JSON"))
        var invalidUTF8 = rawSafetensors("{\"a\":1}")
        invalidUTF8[10] = 0xFF
        #expect(try openMessage(invalidUTF8) == "header is not valid UTF-8")
        #expect(try openMessage(rawSafetensors("[1,2]")) == "header is not a JSON object")
        #expect(try openMessage(rawSafetensors(#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#, dataBytes: 8))
                == "tensor \"w\": data_offsets [0, 16] lie outside the 8-byte data section")
        #expect(try openMessage(rawSafetensors(#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#, dataBytes: 16))
                == "tensor \"w\": 12 bytes for shape [2, 2] of F32 (expected 16)")
        #expect(try openMessage(rawSafetensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, dataBytes: 12))
                == "tensors \"a\" and \"b\" overlap in the data section")
        #expect(try openMessage(rawSafetensors(#"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0]}}"#))
                .contains("overflows the element count"))
        #expect(try openMessage(rawSafetensors(#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#)).contains("must hold non-negative integers"))
        #expect(try openMessage(rawSafetensors(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, dataBytes: 8)).contains("lie outside"))
        // An unknown dtype is listed, not rejected.
        #expect(try openMessage(rawSafetensors(#"{"w":{"dtype":"Q9","shape":[1],"data_offsets":[0,1]}}"#, dataBytes: 1)) == "no error")
    }

    @Test("a sparse 100 GB checkpoint opens and lists from its header alone")
    func hugeSparseFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("huge.safetensors").path
        let rows = 50_000, cols = 500_000   // 25e9 F32 = 100 GB
        let header = #"{"model.layers.0.mlp.up_proj.weight":{"dtype":"F32","shape":[\#(rows),\#(cols)],"data_offsets":[0,\#(rows * cols * 4)]}}"#
        try rawSafetensors(header).write(to: URL(fileURLWithPath: path))
        let h = try #require(FileHandle(forWritingAtPath: path))
        try h.truncate(atOffset: UInt64(8 + header.utf8.count + rows * cols * 4))
        try h.close()
        let c = try ModelFiles.openCheckpoint(path)
        #expect(c.tensors.count == 1)
        #expect(c.tensors[0].shape == [rows, cols] && c.tensors[0].isQuantizable)
    }

    @Test("a sharded directory lists every shard's tensors and reports a missing shard")
    func shards() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try SafetensorsWriter.write([.f32("model.layers.0.self_attn.q_proj.weight", shape: [2, 2], [1, 2, 3, 4])],
                                    to: dir.appendingPathComponent("model-00001-of-00002.safetensors").path)
        try SafetensorsWriter.write([.f32("model.layers.1.self_attn.q_proj.weight", shape: [2, 2], [5, 6, 7, 8])],
                                    to: dir.appendingPathComponent("model-00002-of-00002.safetensors").path)
        let index = #"{"metadata":{},"weight_map":{"model.layers.0.self_attn.q_proj.weight":"model-00001-of-00002.safetensors","model.layers.1.self_attn.q_proj.weight":"model-00002-of-00002.safetensors"}}"#
        try Data(index.utf8).write(to: dir.appendingPathComponent("model.safetensors.index.json"))
        let c = try ModelFiles.openCheckpoint(dir.path)
        #expect(c.tensors.map(\.name) == ["model.layers.0.self_attn.q_proj.weight", "model.layers.1.self_attn.q_proj.weight"])
        #expect(try c.matrix("model.layers.1.self_attn.q_proj.weight").values == [5, 6, 7, 8])
        #expect(ModelFiles.files(of: c).count == 2)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("model-00002-of-00002.safetensors"))
        do {
            _ = try ModelFiles.openCheckpoint(dir.path)
            Issue.record("no error for a missing shard")
        } catch let e as SpQRError {
            #expect(e.message.contains("shard model-00002-of-00002.safetensors is missing"))
        }
    }
}

@Suite("Calibration files")
struct CalibrationFileTests {
    @Test("Hessian files: full and packed matrices, lookup through the layers map, provenance, size checks", arguments: [false, true])
    func hessianFile(packed: Bool) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("h.safetensors").path
        let l = syntheticLayer(out: 4, in: 6, seed: 3)
        try HessianFileCalibration.write(
            hessians: ["hessian.model.layers.0.self_attn.q_proj": l.h],
            layers: ["model.layers.0.self_attn.q_proj.weight": "hessian.model.layers.0.self_attn.q_proj",
                     "model.layers.0.self_attn.k_proj.weight": "hessian.model.layers.0.self_attn.q_proj"],
            provenance: ["model": "test", "n_sequences": "16", "n_tokens": "4096"], packed: packed, to: path)
        let source = try ModelFiles.openCalibration(hessians: path)
        #expect(source is HessianFileCalibration)
        #expect(source.label == "Hessian file h.safetensors, 16 seq, 4096 tokens")
        #expect(try source.hessian(forLayer: "model.layers.0.self_attn.k_proj.weight", inFeatures: 6) == l.h)
        do {
            _ = try source.hessian(forLayer: "model.layers.0.self_attn.k_proj.weight", inFeatures: 7)
            Issue.record("no size error")
        } catch let e as SpQRError {
            #expect(e.message.contains(packed ? "has 21 values; a layer with 7 inputs needs 28" : "is 6x6 but layer model.layers.0.self_attn.k_proj.weight has 7 inputs"))
        }
        #expect(throws: SpQRError.self) { try source.hessian(forLayer: "model.layers.0.mlp.up_proj.weight", inFeatures: 6) }
    }

    @Test("importance matrices, legacy and GGUF, give E[x²] per column", arguments: ["tiny.imatrix", "tiny.imatrix.gguf"])
    func imatrix(file: String) throws {
        let source = try ModelFiles.openCalibration(imatrix: "\(fixtures)/\(file)")
        let expected = try SafetensorsFile(path: "\(fixtures)/imatrix-expected.safetensors")
        let want = try expected.floats("blk.0.attn_q.weight")
        // Mapped to the Hugging Face name too.
        let h = try source.hessian(forLayer: "model.layers.0.self_attn.q_proj.weight", inFeatures: 32)
        for j in 0..<32 { #expect(abs(h[j, j] - 2 * want[j]) <= 1e-6 * want[j]) }
        #expect(h[0, 1] == 0)
        #expect(throws: SpQRError.self) { try source.hessian(forLayer: "blk.0.attn_q.weight", inFeatures: 31) }
    }

    @Test("a truncated importance matrix is reported")
    func truncatedImatrix() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let whole = try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/tiny.imatrix"))
        let path = dir.appendingPathComponent("t.imatrix").path
        try whole.prefix(60).write(to: URL(fileURLWithPath: path))
        do {
            _ = try ImportanceMatrixCalibration(path: path)
            Issue.record("no error")
        } catch let e as SpQRError {
            #expect(e.message.contains("truncated"), "\(e.message)")
        }
    }

    @Test(".npy activations: f4 and f8 give H = 2XᵀX/n; Fortran order is refused")
    func npy() throws {
        let x = try SafetensorsFile(path: "\(fixtures)/activations-expected.safetensors").matrix("x")
        let want = try Hessian.fromActivations(x)
        for f in ["activations.npy", "activations-f8.npy"] {
            let h = try ModelFiles.openCalibration(activations: "\(fixtures)/\(f)").hessian(forLayer: "l", inFeatures: 4)
            for k in 0..<16 { #expect(abs(h.values[k] - want.values[k]) <= 1e-5 * max(1, abs(want.values[k]))) }
        }
        do {
            _ = try NumpyArray.read(path: "\(fixtures)/activations-fortran.npy")
            Issue.record("no error")
        } catch let e as SpQRError {
            #expect(e.message.hasSuffix("the array is in Fortran order; save it with numpy.ascontiguousarray first"))
        }
    }
}

@Suite("Layer discovery")
struct LayerDiscoveryTests {
    @Test func inputSites() {
        #expect(LayerDiscovery.inputSite(of: "model.layers.2.self_attn.v_proj.weight") == "model.layers.2.self_attn.q_proj")
        #expect(LayerDiscovery.inputSite(of: "model.layers.2.mlp.up_proj.weight") == "model.layers.2.mlp.gate_proj")
        #expect(LayerDiscovery.inputSite(of: "model.layers.2.mlp.down_proj.weight") == "model.layers.2.mlp.down_proj")
        #expect(LayerDiscovery.inputSite(of: "encoder.layer.0.attention.self.key.weight") == "encoder.layer.0.attention.self.query")
    }

    @Test("blocks in numeric order and shared inputs")
    func grouping() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.safetensors").path
        let names = ["model.layers.10.self_attn.q_proj.weight", "model.layers.2.self_attn.q_proj.weight",
                     "model.layers.2.self_attn.k_proj.weight", "model.layers.2.mlp.gate_proj.weight",
                     "model.layers.2.mlp.up_proj.weight", "lm_head.weight"]
        try SafetensorsWriter.write(names.map { .f32($0, shape: [2, 2], [1, 2, 3, 4]) } + [.f32("model.norm.weight", shape: [2], [1, 1])], to: path)
        let c = try ModelFiles.openCheckpoint(path)
        let blocks = LayerDiscovery.blocks(c)
        #expect(blocks.map(\.block) == ["model.layers.2", "model.layers.10", nil])
        #expect(blocks[0].layers.count == 4)
        let shared = LayerDiscovery.sharedInputs(c)
        #expect(shared["model.layers.2.self_attn.q_proj"] == ["model.layers.2.self_attn.k_proj.weight", "model.layers.2.self_attn.q_proj.weight"])
        #expect(shared["model.layers.2.mlp.gate_proj"]?.count == 2)
        let cache = StatisticsCache(checkpoint: c)
        #expect(cache.cached("lm_head.weight") == nil)
        #expect(try cache.statistics("lm_head.weight").maxAbs == 4)
        #expect(cache.cached("lm_head.weight") != nil)
    }
}
