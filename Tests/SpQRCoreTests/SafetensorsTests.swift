// safetensors: dtype conversion, header validation with a specific message for each defect, a sparse
// 100 GB file listed from its header, sharded directories, and the atomic writer.

import Foundation
import Testing

@testable import SpQRCore

@Suite("safetensors")
struct SafetensorsTests {
    @Test(
        "F32, F16, BF16 and F64 convert to Float exactly; other dtypes are listed with the reason they cannot be quantized"
    )
    func dtypes() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.safetensors").path
        // Values representable in every one of the four types, so each conversion must be exact.
        let values: [Float] = [1.5, -2.25, 0.125, 3, -0.0, 1024, 1.0 / 1024, -7.5]
        let f16 = values.map { Float16($0).bitPattern.littleEndian }
        let bf16 = values.map { UInt16($0.bitPattern >> 16).littleEndian }
        let f64 = values.map { Double($0).bitPattern.littleEndian }
        try SafetensorsWriter.write(
            [
                .f32("a.f32", shape: [2, 4], values),
                .init(
                    name: "a.f16", dtype: .F16, shape: [2, 4], bytes: f16.withUnsafeBufferPointer { Data(buffer: $0) }),
                .init(
                    name: "a.bf16", dtype: .BF16, shape: [4, 2],
                    bytes: bf16.withUnsafeBufferPointer { Data(buffer: $0) }),
                .init(
                    name: "a.f64", dtype: .F64, shape: [8, 1], bytes: f64.withUnsafeBufferPointer { Data(buffer: $0) }),
                .i64("a.i64", shape: [2, 2], [1, 2, 3, 4]),
                .init(name: "a.f8", dtype: .F8_E4M3, shape: [2, 2], bytes: Data([1, 2, 3, 4])),
                .f32("a.vector", shape: [4], [1, 2, 3, 4]),
            ], to: path)
        let c = try SafetensorsCheckpoint(path: path)
        for n in ["a.f32", "a.f16", "a.bf16", "a.f64"] {
            let m = try c.matrix(n)
            #expect(m.values.map(\.bitPattern) == values.map(\.bitPattern), "\(n)")
            #expect(try c.entry(n).isQuantizable)
        }
        #expect(try c.entry("a.bf16").bitsPerWeight == 16)
        #expect(
            try c.entry("a.i64").notQuantizableReason == "dtype I64 cannot be converted (F32, F16, BF16 and F64 can)")
        #expect(
            try c.entry("a.f8").notQuantizableReason == "dtype F8_E4M3 cannot be converted (F32, F16, BF16 and F64 can)"
        )
        #expect(try c.entry("a.vector").notQuantizableReason == "1-D tensor (only 2-D weight matrices are quantized)")
        #expect(
            errorMessage(path: path) { _ = try c.matrix("a.i64") }
                == "tensor \"a.i64\" cannot be quantized: dtype I64 cannot be converted (F32, F16, BF16 and F64 can)")
        #expect(try c.file.integers("a.i64") == [1, 2, 3, 4])
        #expect(
            errorMessage(path: path) { _ = try c.matrix("nope") }.hasPrefix(
                "no tensor named \"nope\"; quantizable ones include a.bf16, a.f16"))
    }

    @Test("an unknown dtype is listed, not quantizable, with a specific reason")
    func unknownDType() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("u.safetensors").path
        try rawSafetensors(#"{"w":{"dtype":"Q9","shape":[2,2],"data_offsets":[0,3]}}"#, dataBytes: 3).write(
            to: URL(fileURLWithPath: path))
        let c = try SafetensorsCheckpoint(path: path)
        #expect(c.tensors.map(\.name) == ["w"])
        #expect(c.tensors[0].notQuantizableReason == "unknown dtype Q9 (F32, F16, BF16 and F64 can be converted)")
        #expect(
            errorMessage(path: path) { _ = try c.file.floats("w") }
                == "tensor \"w\" has dtype Q9; only F32, F16, BF16 and F64 can be converted to Float")
    }

    @Test("sub-byte dtypes (F4, F6) must fill whole bytes")
    func subByte() throws {
        #expect(
            try safetensorsMessage(
                rawSafetensors(#"{"w":{"dtype":"F4","shape":[2,2],"data_offsets":[0,2]}}"#, dataBytes: 2)) == "no error"
        )
        #expect(
            try safetensorsMessage(
                rawSafetensors(#"{"w":{"dtype":"F4","shape":[3],"data_offsets":[0,2]}}"#, dataBytes: 2))
                == "tensor \"w\": shape [3] of F4 is not a whole number of bytes or overflows")
        #expect(
            try safetensorsMessage(
                rawSafetensors(#"{"w":{"dtype":"F6_E2M3","shape":[4],"data_offsets":[0,3]}}"#, dataBytes: 3))
                == "no error")
    }

    @Test("bad headers get specific errors naming the file")
    func badHeaders() throws {
        let m = safetensorsMessage
        #expect(try m(Data([1, 2, 3])) == "file is 3 bytes, too short for a safetensors header (needs at least 8)")
        #expect(try m(Data()) == "file is 0 bytes, too short for a safetensors header (needs at least 8)")
        #expect(
            try m(rawSafetensors("{}", lengthField: 1 << 40))
                == "header length 1099511627776 bytes exceeds the 100000000-byte limit; not a safetensors file?")
        #expect(try m(rawSafetensors("{}", lengthField: UInt64.max)).contains("exceeds the 100000000-byte limit"))
        #expect(
            try m(rawSafetensors("{}", lengthField: 500))
                == "header length 500 runs past the end of the 10-byte file (truncated?)")
        #expect(try m(rawSafetensors("{not json}")).hasPrefix("header is not valid JSON ("))
        #expect(try m(rawSafetensors("")).hasPrefix("header is not valid JSON ("))
        var invalidUTF8 = rawSafetensors("{\"a\":1}")
        invalidUTF8[10] = 0xFF
        #expect(try m(invalidUTF8) == "header is not valid UTF-8")
        #expect(try m(rawSafetensors("[1,2]")) == "header is not a JSON object")
        #expect(try m(rawSafetensors(#"{"w":5}"#)) == "tensor \"w\": entry is not an object")
        #expect(
            try m(rawSafetensors(#"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, dataBytes: 4))
                == "tensor \"w\": missing or non-string dtype")
        #expect(
            try m(rawSafetensors(#"{"w":{"dtype":"F32","data_offsets":[0,4]}}"#, dataBytes: 4))
                == "tensor \"w\": missing shape")
        #expect(
            try m(rawSafetensors(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#, dataBytes: 4))
                == "tensor \"w\": data_offsets must be two integers")
        #expect(
            try m(rawSafetensors(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}}"#, dataBytes: 4))
                == "tensor \"w\": data_offsets must be two integers")
        #expect(try m(rawSafetensors(#"{"__metadata__":{"a":1}}"#)) == "__metadata__[\"a\"] is not a string")
        #expect(try m(rawSafetensors(#"{"__metadata__":[1]}"#)) == "__metadata__ is not an object of strings")
        #expect(
            try m(rawSafetensors(#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]}}"#, dataBytes: 8))
                == "tensor \"w\": data_offsets [0, 16] lie outside the 8-byte data section")
        #expect(
            try m(rawSafetensors(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}"#, dataBytes: 8))
                == "tensor \"w\": data_offsets [8, 4] lie outside the 8-byte data section")
        #expect(
            try m(rawSafetensors(#"{"w":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, dataBytes: 8))
                == "tensor \"w\": data_offsets [-4, 0] lie outside the 8-byte data section")
        #expect(
            try m(rawSafetensors(#"{"w":{"dtype":"F32","shape":[2,2],"data_offsets":[0,12]}}"#, dataBytes: 16))
                == "tensor \"w\": 12 bytes for shape [2, 2] of F32 (expected 16)")
        #expect(
            try m(
                rawSafetensors(
                    #"{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0]}}"#))
                == "tensor \"w\": shape [4294967296, 4294967296] overflows the element count")
        // The element count fits an Int, its byte count does not.
        #expect(
            try m(rawSafetensors(#"{"w":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}}"#))
                == "tensor \"w\": shape [4611686018427387904] of F64 is not a whole number of bytes or overflows")
        #expect(
            try m(rawSafetensors(#"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}"#))
                == "tensor \"w\": shape [-1] must hold non-negative integers")
        #expect(
            try m(rawSafetensors(#"{"w":{"dtype":"F32","shape":[1.5],"data_offsets":[0,0]}}"#))
                == "tensor \"w\": shape [1.5] must hold non-negative integers")
    }

    @Test("overlapping tensors are refused, also when an empty tensor or a third one lies between them")
    func overlaps() throws {
        #expect(
            try safetensorsMessage(
                rawSafetensors(
                    #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                    dataBytes: 12))
                == "tensors \"a\" and \"b\" overlap in the data section")
        // a covers [0, 40); e is empty at 8; c sits inside a after it.
        let nested =
            #"{"a":{"dtype":"F32","shape":[10],"data_offsets":[0,40]},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},"c":{"dtype":"F32","shape":[2],"data_offsets":[20,28]}}"#
        #expect(
            try safetensorsMessage(rawSafetensors(nested, dataBytes: 40))
                == "tensors \"a\" and \"c\" overlap in the data section")
        // a long tensor overlapping the third, not the second.
        let skip =
            #"{"a":{"dtype":"F32","shape":[10],"data_offsets":[0,40]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]},"c":{"dtype":"F32","shape":[1],"data_offsets":[36,40]}}"#
        #expect(
            try safetensorsMessage(rawSafetensors(skip, dataBytes: 40))
                == "tensors \"a\" and \"b\" overlap in the data section")
        // Adjacent tensors and empty tensors at a shared offset are fine.
        let fine =
            #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"e":{"dtype":"F32","shape":[0],"data_offsets":[8,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}"#
        #expect(try safetensorsMessage(rawSafetensors(fine, dataBytes: 16)) == "no error")
    }

    @Test("every truncation of a real file is reported, never a crash")
    func truncations() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let whole = try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/activations-expected.safetensors"))
        let headerEnd = 8 + Int(whole.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) })
        for cut in 0..<whole.count {
            let message = try safetensorsMessage(whole.prefix(cut))
            if cut < 8 {
                #expect(message.hasPrefix("file is \(cut) bytes, too short"))
            } else if cut < headerEnd {
                #expect(message.hasPrefix("header length \(headerEnd - 8) runs past the end"), "cut at \(cut)")
            } else {
                #expect(
                    message.contains("lie outside the \(cut - headerEnd)-byte data section"),
                    "cut at \(cut): \(message)")
            }
        }
    }

    @Test("a directory or a missing file is an I/O error naming it")
    func notAFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(
            errorMessage(path: dir.path) { _ = try SafetensorsFile(path: dir.path) } == "is a directory, not a file")
        let missing = dir.appendingPathComponent("none.safetensors").path
        #expect(errorMessage(path: missing) { _ = try SafetensorsFile(path: missing) }.hasPrefix("cannot open ("))
    }

    @Test("a sparse 100 GB checkpoint opens and lists from its header alone")
    func hugeSparseFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("huge.safetensors").path
        let rows = 50_000
        let cols = 500_000  // 25e9 F32 = 100 GB
        let header =
            #"{"model.layers.0.mlp.up_proj.weight":{"dtype":"F32","shape":[\#(rows),\#(cols)],"data_offsets":[0,\#(rows * cols * 4)]}}"#
        try rawSafetensors(header).write(to: URL(fileURLWithPath: path))
        let h = try #require(FileHandle(forWritingAtPath: path))
        try h.truncate(atOffset: UInt64(8 + header.utf8.count + rows * cols * 4))
        try h.close()
        let c = try ModelFiles.openCheckpoint(path)
        #expect(c.tensors.count == 1)
        #expect(c.tensors[0].shape == [rows, cols] && c.tensors[0].isQuantizable)
        #expect(c.tensors[0].elementCount * 4 == 100_000_000_000)
    }

    @Test("the writer refuses a tensor whose bytes do not match its shape, and a name used twice")
    func writerChecks() throws {
        #expect(throws: SpQRError.self) {
            try SafetensorsWriter.encode([.init(name: "w", dtype: .F32, shape: [2, 2], bytes: Data(count: 12))])
        }
        #expect(throws: SpQRError.self) {
            try SafetensorsWriter.encode([.f32("w", shape: [1], [1]), .f32("w", shape: [1], [2])])
        }
        #expect(throws: SpQRError.self) { try SafetensorsWriter.encode([.f32("__metadata__", shape: [1], [1])]) }
    }

    @Test("atomic writes replace the file whole and leave no temporary file; a failed write leaves the old file")
    func atomicWrite() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("w.safetensors").path
        try SafetensorsWriter.write([.f32("w", shape: [1], [1])], metadata: ["k": "v"], to: path)
        try SafetensorsWriter.write([.f32("w", shape: [2], [2, 3])], to: path)
        let f = try SafetensorsFile(path: path)
        #expect(try f.floats("w") == [2, 3] && f.metadata.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["w.safetensors"])
        let inMissingDir = dir.appendingPathComponent("no/such/dir/x.safetensors").path
        #expect(
            errorMessage(path: inMissingDir) { try AtomicFile.write(Data([1]), to: inMissingDir) }.hasPrefix(
                "cannot create a file in"))
    }
}

@Suite("safetensors directories")
struct ShardedSafetensorsTests {
    static let q0 = "model.layers.0.self_attn.q_proj.weight", q1 = "model.layers.1.self_attn.q_proj.weight"
    static let shard1 = "model-00001-of-00002.safetensors", shard2 = "model-00002-of-00002.safetensors"

    func makeSharded() throws -> URL {
        let dir = try temporaryDirectory()
        try SafetensorsWriter.write(
            [.f32(Self.q0, shape: [2, 2], [1, 2, 3, 4])], to: dir.appendingPathComponent(Self.shard1).path)
        try SafetensorsWriter.write(
            [.f32(Self.q1, shape: [2, 2], [5, 6, 7, 8])], to: dir.appendingPathComponent(Self.shard2).path)
        try writeIndex(
            dir,
            #"{"metadata":{"total_size":32},"weight_map":{"\#(Self.q0)":"\#(Self.shard1)","\#(Self.q1)":"\#(Self.shard2)"}}"#
        )
        return dir
    }

    func writeIndex(_ dir: URL, _ json: String) throws {
        try Data(json.utf8).write(to: dir.appendingPathComponent(SafetensorsDirectoryCheckpoint.indexName))
    }

    @Test("a sharded directory lists every shard's tensors and reads each from its shard; the index path works too")
    func shards() throws {
        let dir = try makeSharded()
        defer { try? FileManager.default.removeItem(at: dir) }
        for path in [dir.path, dir.appendingPathComponent(SafetensorsDirectoryCheckpoint.indexName).path] {
            let c = try ModelFiles.openCheckpoint(path)
            #expect(c is SafetensorsDirectoryCheckpoint)
            #expect(c.path == dir.path)
            #expect(c.tensors.map(\.name) == [Self.q0, Self.q1])
            #expect(try c.matrix(Self.q1).values == [5, 6, 7, 8])
            #expect(try c.entry(Self.q1).file == dir.appendingPathComponent(Self.shard2).path)
            #expect(ModelFiles.files(of: c).count == 2)
        }
    }

    @Test("a missing shard is named")
    func missingShard() throws {
        let dir = try makeSharded()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.removeItem(at: dir.appendingPathComponent(Self.shard2))
        let index = dir.appendingPathComponent(SafetensorsDirectoryCheckpoint.indexName).path
        #expect(
            errorMessage(path: index) { _ = try ModelFiles.openCheckpoint(dir.path) }
                == "shard \(Self.shard2) is missing from \(dir.path); download every file the index lists")
    }

    @Test("bad indexes get specific errors")
    func badIndex() throws {
        let dir = try makeSharded()
        defer { try? FileManager.default.removeItem(at: dir) }
        let index = dir.appendingPathComponent(SafetensorsDirectoryCheckpoint.indexName).path
        func message(_ json: String) throws -> String {
            try writeIndex(dir, json)
            return errorMessage(path: index) { _ = try SafetensorsDirectoryCheckpoint(path: dir.path) }
        }
        #expect(try message("{").hasPrefix("not valid JSON ("))
        #expect(try message("[]") == "not a JSON object")
        #expect(try message(#"{"metadata":{}}"#) == "missing the \"weight_map\" object of tensor name → shard file")
        #expect(try message(#"{"weight_map":{}}"#) == "weight_map is empty")
        #expect(
            try message(#"{"weight_map":{"a":"../model.safetensors"}}"#)
                == "weight_map[\"a\"] must name a file in the same directory, got ../model.safetensors")
        #expect(
            try message(#"{"weight_map":{"a":7}}"#) == "weight_map[\"a\"] must name a file in the same directory, got 7"
        )
        #expect(
            try message(#"{"weight_map":{"\#(Self.q0)":"\#(Self.shard2)","\#(Self.q1)":"\#(Self.shard2)"}}"#)
                == "\(Self.q0) is mapped to \(Self.shard2), which does not hold it")
    }

    @Test("without an index, every .safetensors file is a shard, and a tensor in two of them is an error")
    func noIndex() throws {
        let dir = try makeSharded()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.removeItem(at: dir.appendingPathComponent(SafetensorsDirectoryCheckpoint.indexName))
        #expect(try SafetensorsDirectoryCheckpoint(path: dir.path).tensors.count == 2)
        try SafetensorsWriter.write(
            [.f32(Self.q0, shape: [1], [9])], to: dir.appendingPathComponent("extra.safetensors").path)
        #expect(
            errorMessage(path: dir.path) { _ = try SafetensorsDirectoryCheckpoint(path: dir.path) }
                == "tensor \"\(Self.q0)\" appears in both \(dir.appendingPathComponent("extra.safetensors").path) and \(dir.appendingPathComponent(Self.shard1).path)"
        )
        let empty = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(
            errorMessage(path: empty.path) { _ = try ModelFiles.openCheckpoint(empty.path) }
                == "no model.safetensors.index.json and no .safetensors files in this directory")
    }
}
