// The whole-model writers: a GGUF written with nothing replaced has every metadata key (with its stored
// type) and every tensor byte of the source; replaced matrices read back as the replacement (F32 exactly,
// F16 to half rounding) with q/k rows in llama.cpp's rotary order; gguf-py reads the result. Errors leave
// no output and no temporary file.

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore

/// The stored bytes of every tensor of a GGUF file, by name.
func ggufTensorBytes(_ f: GGUFFile) throws -> [String: [UInt8]] {
    var out: [String: [UInt8]] = [:]
    for t in f.tensors {
        out[t.name] = try f.bytes.bytes(at: f.dataStart + t.offset, count: t.byteCount, what: t.name)
    }
    return out
}

/// The names in `dir`, to show that nothing (not even a temporary) was left behind.
func listing(_ dir: URL) throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() }

@Suite("GGUF model writer")
struct GGUFModelWriterTests {
    static let sources = [
        "\(fixtures)/llama-tiny.gguf", "\(fixtures)/quants.gguf",
        "\(samplesDirectory)/smollm2-135m-instruct.block15.gguf",
    ]
    static let q0 = "model.layers.0.self_attn.q_proj.weight", k1 = "model.layers.1.self_attn.k_proj.weight"
    static let down0 = "model.layers.0.mlp.down_proj.weight"

    /// A GGUF file with every metadata value type, string and numeric arrays, and an alignment of 64.
    static func everyValueType(in dir: URL) throws -> String {
        func kv(_ key: String, _ type: UInt32, _ value: [UInt8]) -> [UInt8] { ggufString(key) + le(type) + value }
        let pairs: [[UInt8]] = [
            kv("general.architecture", 8, ggufString("llama")),
            kv("u8", 0, [200]), kv("i8", 1, [0xFE]), kv("u16", 2, le(UInt16(65000))), kv("i16", 3, le(Int16(-300))),
            kv("u32", 4, le(UInt32(4_000_000_000))), kv("i32", 5, le(Int32(-70000))),
            kv("f32", 6, le(Float(1.5).bitPattern)), kv("bool", 7, [1]), kv("string", 8, ggufString("héllo")),
            kv("u64", 10, le(UInt64.max)), kv("i64", 11, le(Int64.min)), kv("f64", 12, le(Double(-2.25).bitPattern)),
            kv(
                "tokenizer.ggml.tokens", 9,
                le(UInt32(8)) + le(UInt64(3)) + ggufString("a") + ggufString("") + ggufString("é")),
            kv(
                "tokenizer.ggml.scores", 9,
                le(UInt32(6)) + le(UInt64(2)) + le(Float(0.5).bitPattern) + le(Float(-1).bitPattern)),
            kv("tokenizer.ggml.token_type", 9, le(UInt32(5)) + le(UInt64(2)) + le(Int32(1)) + le(Int32(3))),
            kv("flags", 9, le(UInt32(7)) + le(UInt64(3)) + [1, 0, 1]),
            kv("general.alignment", 4, le(UInt32(64))),
        ]
        let bytes = ggufBytes(
            kv: pairs, tensors: [("w", [4, 2], 0, 0), ("b", [3], 0, 64)], alignment: 64,
            data: (0..<8).flatMap { le(Float($0).bitPattern) } + [UInt8](repeating: 0, count: 32)
                + (0..<3).flatMap { le(Float(-$0).bitPattern) })
        let path = dir.appendingPathComponent("types.gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Checks that `written` has the metadata (keys, order, types, values) and tensor bytes of `source`,
    /// except for the tensors named in `except` and the keys in `exceptKeys`.
    func expectCopy(_ written: GGUFFile, of source: GGUFFile, except: Set<String> = [], exceptKeys: Set<String> = [])
        throws
    {
        #expect(written.version == 3 && written.alignment == source.alignment)
        let keep = { (k: (key: String, type: GGUFValueType)) in !exceptKeys.contains(k.key) }
        #expect(written.metadataKeys.filter(keep).map(\.key) == source.metadataKeys.filter(keep).map(\.key))
        #expect(written.metadataKeys.filter(keep).map(\.type) == source.metadataKeys.filter(keep).map(\.type))
        for (key, _) in source.metadataKeys where !exceptKeys.contains(key) {
            #expect(written.metadata[key] == source.metadata[key], "\(key)")
        }
        #expect(written.tensors.map(\.name) == source.tensors.map(\.name))
        #expect(written.tensors.map(\.dimensions) == source.tensors.map(\.dimensions))
        let (a, b) = (try ggufTensorBytes(written), try ggufTensorBytes(source))
        for t in source.tensors where !except.contains(t.name) {
            #expect(written.tensors.first { $0.name == t.name }?.type == t.type)
            #expect(a[t.name] == b[t.name], "\(t.name) differs")
        }
    }

    @Test("nothing replaced: every key with its type and every tensor byte is kept", arguments: sources + ["types"])
    func copy(source: String) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = source == "types" ? try Self.everyValueType(in: dir) : source
        let c = try GGUFCheckpoint(path: path)
        let out = dir.appendingPathComponent("out.gguf").path
        var reports: [(Int, Int)] = []
        try GGUFModelWriter.write(source: c, replacing: .none, weightType: .f16, to: out) { reports.append(($0, $1)) }
        try expectCopy(try GGUFFile(path: out), of: c.file)
        #expect(
            reports.map(\.0) == Array(1...c.file.tensors.count) && reports.allSatisfy { $0.1 == c.file.tensors.count })
        if source == "types" {
            #expect(try GGUFFile(path: out).metadata["tokenizer.ggml.tokens"]?.arrayValue?.strings == ["a", "", "é"])
        }
        // Files written by gguf-py come back byte for byte (same layout, same padding).
        if source != "types" {
            #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == Data(contentsOf: URL(fileURLWithPath: path)))
        }
        #expect(try listing(dir).filter { $0.hasPrefix(".") }.isEmpty)
    }

    @Test("replaced q/k (rotary, per-layer head counts) and other matrices read back as the replacement")
    func replaced() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = try GGUFCheckpoint(path: "\(fixtures)/llama-tiny.gguf")
        var g = SeededGenerator(seed: 7)
        var replacement: [String: Matrix] = [:]
        for name in [Self.q0, Self.k1, Self.down0] {
            let e = try c.entry(name)
            var m = Matrix(rows: e.shape[0], cols: e.shape[1])
            for i in m.values.indices { m.values[i] = Float(g.gaussian()) * 0.1 }
            replacement[name] = m
        }
        let frozen = replacement
        let r = TensorReplacements(names: Set(frozen.keys)) { frozen[$0]! }
        for type in GGUFWeightType.allCases {
            let out = dir.appendingPathComponent("\(type).gguf").path
            try GGUFModelWriter.write(source: c, replacing: r, weightType: type, to: out)
            let w = try GGUFCheckpoint(path: out)
            let stored = Set(try frozen.keys.map { try c.entry($0).storedName })
            try expectCopy(w.file, of: c.file, except: stored, exceptKeys: [GGUFModelWriter.fileTypeKey])
            for (name, want) in frozen {
                #expect(try w.file.info(try c.entry(name).storedName).type == type.ggmlType)
                let got = try w.matrix(name)
                if type == .f32 {
                    #expect(got.values == want.values, "\(name)")
                } else {
                    // Half rounding: exactly Float16(x), within 2⁻¹¹ relative of x for these normal values.
                    #expect(got.values == want.values.map { Float(Float16($0)) }, "\(name)")
                    let worst = zip(got.values, want.values).map { abs($0 - $1) / abs($1) }.max()!
                    #expect(worst <= 0x1p-11 && worst > 0x1p-14, "max relative error \(worst)")
                }
            }
            // Some 2-D tensors stay F32/Q8_0, so the written file keeps the source's file type (none here).
            #expect(w.file.metadata[GGUFModelWriter.fileTypeKey] == c.file.metadata[GGUFModelWriter.fileTypeKey])
        }
    }

    @Test("a matrix written back as it was read gives the source's bytes: the rotary order is restored")
    func rotaryRoundTrip() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = try GGUFCheckpoint(path: "\(fixtures)/llama-tiny.gguf")
        let q = try c.matrix(Self.q0)
        #expect(q.values != (try c.file.floats("blk.0.attn_q.weight")), "the fixture's q rows are permuted")
        let out = dir.appendingPathComponent("q.gguf").path
        try GGUFModelWriter.write(
            source: c, replacing: TensorReplacements(names: [Self.q0]) { _ in q }, weightType: .f32, to: out)
        // Every tensor, the F32 q included, is byte-identical to the source, and so is the metadata (blk.1
        // holds Q8_0, so the file is no ALL_F32 file and keeps its file type).
        try expectCopy(try GGUFFile(path: out), of: c.file)
    }

    @Test("general.file_type becomes MOSTLY_F16 only when every matrix is F16, as llama.cpp's converter writes it")
    func fileType() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = try GGUFCheckpoint(path: "\(samplesDirectory)/smollm2-135m-instruct.block15.gguf")
        #expect(c.file.metadata[GGUFModelWriter.fileTypeKey] == .uint(3))
        let matrices = c.tensors.filter { $0.shape.count == 2 }.map(\.name)
        for (names, want) in [([matrices[0]], GGUFValue.uint(3)), (matrices, .uint(1))] {
            let out = dir.appendingPathComponent("o.gguf").path
            try GGUFModelWriter.write(
                source: c, replacing: TensorReplacements(names: Set(names)) { try c.matrix($0) }, weightType: .f16,
                to: out)
            let w = try GGUFFile(path: out)
            #expect(w.metadata[GGUFModelWriter.fileTypeKey] == want)
            #expect(w.metadataKeys.first { $0.key == GGUFModelWriter.fileTypeKey }?.type == .uint32)
            try expectHalfReplacements(w, c, names)
        }
    }

    /// The replaced tensors of `w` read back as `c`'s matrices rounded to half.
    func expectHalfReplacements(_ w: GGUFFile, _ c: GGUFCheckpoint, _ names: [String]) throws {
        let reopened = try GGUFCheckpoint(path: w.path)
        for name in names {
            #expect(try reopened.matrix(name).values == c.matrix(name).values.map { Float(Float16($0)) }, "\(name)")
        }
    }

    @Test("gguf-py reads every key and tensor of a written file, with the same bytes", .enabled(if: Python.has("gguf")))
    func ggufPy() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = try GGUFCheckpoint(path: try Self.everyValueType(in: dir))
        let tiny = try GGUFCheckpoint(path: "\(fixtures)/llama-tiny.gguf")
        let cases: [(GGUFCheckpoint, Set<String>)] = [(c, []), (tiny, [Self.q0, Self.k1])]
        for (source, names) in cases {
            let out = dir.appendingPathComponent("py.gguf").path
            try GGUFModelWriter.write(
                source: source, replacing: TensorReplacements(names: names) { try tiny.matrix($0) }, weightType: .f16,
                to: out)
            let w = try GGUFFile(path: out)
            let report = try Python.run(
                """
                import sys, hashlib
                from gguf import GGUFReader
                r = GGUFReader(sys.argv[1])
                for f in r.fields.values():
                    if not f.name.startswith("GGUF."): print("key", f.name, int(f.types[0]))
                for t in r.tensors:
                    print("tensor", t.name, t.tensor_type.name, hashlib.sha256(bytes(t.data.tobytes())).hexdigest())
                """, out)
            var want = w.metadataKeys.map { "key \($0.key) \($0.type.rawValue)" }
            for (name, bytes) in try ggufTensorBytes(w).sorted(by: { $0.key < $1.key }) {
                var h = SHA256()
                h.update(Data(bytes))
                want.append("tensor \(name) \(try w.info(name).type.name) \(h.hexDigest())")
            }
            #expect(report.split(separator: "\n").map(String.init).sorted() == want.sorted())
        }
    }
}
