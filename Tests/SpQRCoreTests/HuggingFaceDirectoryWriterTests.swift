// The Hugging Face directory writer on a sharded fixture (F16, BF16, F32 and I64 tensors, an index, config
// and tokenizer files): replaced tensors hold the replacement rounded to their dtype (known bit patterns of
// ties, subnormals, overflow, infinities and NaN), everything else is byte-identical; and for both writers,
// every refused or interrupted write leaves no output and no temporary behind.

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore

/// float32 inputs and the F16 / BF16 bits round-to-nearest-even gives them.
let halfCases: [(Float, UInt16)] = [
    (1, 0x3C00), (-2, 0xC000), (65504, 0x7BFF), (65519.99, 0x7BFF), (65520, 0x7C00), (1e6, 0x7C00),
    (1 + 0x1p-11, 0x3C00), (1 + 3 * 0x1p-11, 0x3C02), (1 + 0x1p-11 + 0x1p-20, 0x3C01), (0x1p-14, 0x0400),
    (0x1p-24, 0x0001), (0x1p-25, 0x0000), (0x1.8p-25, 0x0001), (-0.0, 0x8000), (.infinity, 0x7C00),
    (-.infinity, 0xFC00),
]
let bfloat16Cases: [(Float, UInt16)] = [
    (1, 0x3F80), (1 + 0x1p-8, 0x3F80), (1 + 3 * 0x1p-8, 0x3F82), (1 + 0x1p-8 + 0x1p-20, 0x3F81),
    (.greatestFiniteMagnitude, 0x7F80), (Float(bitPattern: 0x7F7F_7FFF), 0x7F7F),
    (Float(bitPattern: 0x7F7F_8000), 0x7F80),
    (Float(bitPattern: 1), 0x0000), (Float(bitPattern: 0x8000), 0x0000), (Float(bitPattern: 0x0001_8000), 0x0002),
    (-0.0, 0x8000), (-.infinity, 0xFF80), (Float(bitPattern: 0x7FC0_0000), 0x7FC0),
    (Float(bitPattern: 0x7F80_0001), 0x7FC0), (Float(bitPattern: 0xFFC1_2345), 0xFFC1),
]

/// `values` encoded as `dtype`.
func encoded(_ values: [Float], _ dtype: SafetensorsDType) throws -> [UInt8] {
    var out: [UInt8] = []
    try FloatConversion.encode(values, as: dtype) { out += $0 }
    return out
}

/// The 16-bit words of `bytes` (little-endian).
func words(_ bytes: [UInt8]) -> [UInt16] {
    stride(from: 0, to: bytes.count, by: 2).map { UInt16(bytes[$0]) | UInt16(bytes[$0 + 1]) << 8 }
}

@Suite("Hugging Face directory writer")
struct HuggingFaceDirectoryWriterTests {
    static let q = "model.layers.0.self_attn.q_proj.weight", k = "model.layers.0.self_attn.k_proj.weight"
    static let down = "model.layers.1.mlp.down_proj.weight", norm = "model.norm.weight", ids = "position_ids"
    static let shard1 = "model-00001-of-00002.safetensors", shard2 = "model-00002-of-00002.safetensors"
    static let otherFiles = [
        "config.json": #"{"model_type": "llama"}"#, "tokenizer.json": #"{"model": {"vocab": {"a": 0}}}"#,
        "generation_config.json": "{}",
    ]

    /// A sharded model directory; every tensor holds seeded values.
    static func makeModel(in dir: URL) throws -> URL {
        let model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        var g = SeededGenerator(seed: 3)
        let layout: [(String, [(String, SafetensorsDType, [Int])])] = [
            // Data not in name order, to show that the order is kept.
            (shard1, [(ids, .I64, [3]), (q, .F16, [4, 8]), (k, .BF16, [4, 8])]),
            (shard2, [(down, .F32, [3, 5]), (norm, .F16, [5])]),
        ]
        var weightMap: [String: String] = [:]
        for (shard, tensors) in layout {
            let w = try SafetensorsStreamWriter(
                path: model.appendingPathComponent(shard).path, typed: tensors, metadata: ["format": "pt"])
            for (name, dtype, shape) in tensors {
                let n = shape.reduce(1, *)
                let bytes =
                    try dtype == .I64
                    ? (0..<n).flatMap { le(Int64($0)) } : encoded((0..<n).map { _ in Float(g.gaussian()) }, dtype)
                try bytes.withUnsafeBytes { try w.appendBytes($0) }
                weightMap[name] = shard
            }
            try w.finish()
        }
        let index = try JSONSerialization.data(withJSONObject: [
            "metadata": ["total_size": 300], "weight_map": weightMap,
        ])
        try index.write(to: model.appendingPathComponent(SafetensorsDirectoryCheckpoint.indexName))
        for (name, text) in otherFiles { try Data(text.utf8).write(to: model.appendingPathComponent(name)) }
        return model
    }

    /// Replacements for q (F16 cases), k (BF16 cases) and down (F32), padded with seeded values.
    static func replacements() -> [String: Matrix] {
        var g = SeededGenerator(seed: 9)
        func padded(_ v: [Float], _ rows: Int, _ cols: Int) -> Matrix {
            Matrix(rows: rows, cols: cols, values: v + (v.count..<(rows * cols)).map { _ in Float(g.gaussian()) })
        }
        return [
            q: padded(halfCases.map(\.0) + [.nan], 4, 8), k: padded(bfloat16Cases.map(\.0), 4, 8),
            down: padded([-0.0, .nan, Float(bitPattern: 1), .infinity], 3, 5),
        ]
    }

    @Test("float32 → F16 and BF16 round to nearest even: ties, subnormals, overflow, infinities, NaN")
    func conversions() throws {
        #expect(words(try encoded(halfCases.map(\.0), .F16)) == halfCases.map(\.1))
        #expect(words(try encoded(bfloat16Cases.map(\.0), .BF16)) == bfloat16Cases.map(\.1))
        let nan = words(try encoded([.nan, -.nan], .F16))
        #expect(nan.allSatisfy { $0 & 0x7C00 == 0x7C00 && $0 & 0x3FF != 0 } && nan[1] & 0x8000 != 0)
        // Every F16 and BF16 value survives decoding then encoding.
        let all = (0...UInt16.max).map { $0 }
        let finiteHalves = all.filter { $0 & 0x7C00 != 0x7C00 || $0 & 0x3FF == 0 }
        #expect(words(try encoded(finiteHalves.map { Float(Float16(bitPattern: $0)) }, .F16)) == finiteHalves)
        let finiteB = all.filter { $0 & 0x7F80 != 0x7F80 || $0 & 0x7F == 0 }
        #expect(words(try encoded(finiteB.map { Float(bitPattern: UInt32($0) << 16) }, .BF16)) == finiteB)
    }

    @Test("replaced tensors in their dtype, every other tensor and file byte-identical, shards and index kept")
    func sharded() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try Self.makeModel(in: dir)
        let source = try ModelFiles.openCheckpoint(model.path)
        let want = Self.replacements()
        let out = dir.appendingPathComponent("out")
        var last = (0, 0)
        try HuggingFaceDirectoryWriter.write(
            source: source, sourceDirectory: model.path,
            replacing: TensorReplacements(names: Set(want.keys)) { want[$0]! },
            to: out.path
        ) { last = ($0, $1) }
        #expect(
            last == (9, 9), "5 tensors and 4 files besides the shards (index, config, generation config, tokenizer)")
        #expect(try listing(out) == listing(model))
        for name in try listing(model) where !name.hasSuffix(".safetensors") {
            #expect(
                try Data(contentsOf: out.appendingPathComponent(name))
                    == Data(contentsOf: model.appendingPathComponent(name)))
        }
        for shard in [Self.shard1, Self.shard2] {
            let (a, b) = (
                try SafetensorsFile(path: out.appendingPathComponent(shard).path),
                try SafetensorsFile(path: model.appendingPathComponent(shard).path)
            )
            #expect(a.metadata == b.metadata && a.metadata == ["format": "pt"])
            #expect(a.tensors.map(\.name) == b.tensors.map(\.name))
            #expect(
                a.tensors.map(\.dtypeName) == b.tensors.map(\.dtypeName)
                    && a.tensors.map(\.shape) == b.tensors.map(\.shape))
            for t in a.tensors {
                let got = try a.bytes.bytes(at: a.offset(of: t), count: t.end - t.begin, what: t.name)
                let original = try b.bytes.bytes(
                    at: b.offset(of: try b.info(t.name)), count: t.end - t.begin, what: t.name)
                switch t.name {
                case Self.q:
                    #expect(Array(words(got).prefix(halfCases.count)) == halfCases.map(\.1))
                    #expect(Float(Float16(bitPattern: words(got)[halfCases.count])).isNaN)
                    #expect(got == (try encoded(want[t.name]!.values, .F16)))
                case Self.k:
                    #expect(Array(words(got).prefix(bfloat16Cases.count)) == bfloat16Cases.map(\.1))
                    #expect(got == (try encoded(want[t.name]!.values, .BF16)))
                case Self.down:
                    #expect(got == want[t.name]!.values.flatMap { le($0.bitPattern) })
                default:
                    #expect(got == original, "\(t.name)")
                }
            }
        }
        #expect(
            try ModelFiles.openCheckpoint(out.path).tensors
                == source.tensors.map { e in
                    TensorEntry(
                        name: e.name, shape: e.shape, dtype: e.dtype, bitsPerWeight: e.bitsPerWeight,
                        notQuantizableReason: e.notQuantizableReason,
                        file: out.path + "/" + (e.file as NSString).lastPathComponent)
                })
        #expect(try listing(dir) == ["model", "out"], "no temporary left")
    }

    @Test("a single safetensors file with config.json beside it; without config.json it is refused")
    func singleFile() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = dir.appendingPathComponent("m")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        let file = model.appendingPathComponent("model.safetensors").path
        try SafetensorsWriter.write(
            [.f32("w", shape: [2, 2], [1, 2, 3, 4]), .f32("b", shape: [2], [5, 6])], to: file)
        let r = TensorReplacements(names: ["w"]) { _ in Matrix(rows: 2, cols: 2, values: [9, 8, 7, 6]) }
        let out = dir.appendingPathComponent("out").path
        #expect(
            errorMessage(path: model.path) {
                try HuggingFaceDirectoryWriter.write(
                    source: try SafetensorsCheckpoint(path: file), sourceDirectory: model.path, replacing: r, to: out)
            }.hasPrefix("no config.json beside"))
        try Data("{}".utf8).write(to: model.appendingPathComponent("config.json"))
        try HuggingFaceDirectoryWriter.write(
            source: try SafetensorsCheckpoint(path: file), sourceDirectory: model.path, replacing: r, to: out)
        let written = try SafetensorsFile(path: out + "/model.safetensors")
        #expect(try written.floats("w") == [9, 8, 7, 6] && written.floats("b") == [5, 6])
        #expect(try listing(URL(fileURLWithPath: out)) == ["config.json", "model.safetensors"])
    }

    @Test("bad replacements, an existing or unwritable target and cancellation leave no output and no temporary")
    func failures() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try Self.makeModel(in: dir)
        let source = try ModelFiles.openCheckpoint(model.path)
        let out = dir.appendingPathComponent("out").path
        let good = Self.replacements()
        func write(
            _ names: Set<String>, to target: String = out, cancel: CancellationToken? = nil,
            _ load: @escaping @Sendable (String) throws -> Matrix = { good[$0]! }
        ) -> String {
            errorMessage(path: target) {
                try HuggingFaceDirectoryWriter.write(
                    source: source, sourceDirectory: model.path,
                    replacing: TensorReplacements(names: names, load: load),
                    to: target, cancel: cancel
                ) { done, _ in if done == 2 { cancel?.cancel() } }
            }
        }
        let missing = write([Self.q, "model.layers.7.mlp.up_proj.weight", Self.norm])
        #expect(missing.contains("model.layers.7.mlp.up_proj.weight is not a tensor of the source"), "\(missing)")
        #expect(
            missing.contains("model.norm.weight has shape [5] in the source, not a 2-D weight matrix"), "\(missing)")
        let shape = write([Self.q]) { _ in Matrix(rows: 8, cols: 4) }
        #expect(shape.contains("the replacement of \(Self.q) is [8, 4], the source tensor is [4, 8]"), "\(shape)")
        let ids = write([Self.ids])
        #expect(ids.contains("has shape [3] in the source"), "\(ids)")
        #expect(write(Set(good.keys), cancel: CancellationToken()) == "[does not name the file] cancelled")
        #expect(try listing(dir) == ["model"], "nothing written, no temporary left")
        #expect(write([Self.q], to: "/proc/spqr-writer-test").hasPrefix("cannot create a directory in /proc"))
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: false)
        try Data([1]).write(to: URL(fileURLWithPath: out + "/keep"))
        #expect(write([Self.q]).hasPrefix("already exists and is not empty"))
        #expect(try listing(URL(fileURLWithPath: out)) == ["keep"])
        // An empty directory is replaced.
        try FileManager.default.removeItem(atPath: out + "/keep")
        #expect(write([Self.q]) == "no error")
        #expect(try listing(dir) == ["model", "out"])
    }

    @Test("a directory built in a temporary sibling: errors name the target, and nothing is left behind")
    func atomicDirectory() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let target = dir.appendingPathComponent("d").path
        #expect(throws: SpQRError(.io, "\(target)/f: disk full")) {
            try AtomicDirectory.build(target) { tmp in
                try AtomicFile.write(Data([1]), to: tmp + "/f")
                throw SpQRError(.io, "\(tmp)/f: disk full")
            }
        }
        #expect(try listing(dir).isEmpty)
        try AtomicDirectory.build(target) { try AtomicFile.write(Data([2]), to: $0 + "/f") }
        #expect(try listing(URL(fileURLWithPath: target)) == ["f"] && listing(dir) == ["d"])
    }

    @Test("GGUF: bad replacements, an unwritable directory and cancellation leave no output and no temporary")
    func ggufFailures() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let c = try GGUFCheckpoint(path: "\(fixtures)/llama-tiny.gguf")
        let q = GGUFModelWriterTests.q0
        func write(
            _ names: Set<String>, to target: String = dir.path + "/o.gguf", cancel: CancellationToken? = nil,
            _ load: @escaping @Sendable (String) throws -> Matrix = { _ in Matrix(rows: 16, cols: 32) }
        ) -> String {
            errorMessage(path: target) {
                try GGUFModelWriter.write(
                    source: c, replacing: TensorReplacements(names: names, load: load), weightType: .f16, to: target,
                    cancel: cancel
                ) { done, _ in if done == 3 { cancel?.cancel() } }
            }
        }
        #expect(write(["blk.0.attn_q.weight", "x"]).contains("blk.0.attn_q.weight is not a tensor of the source"))
        #expect(write([q]) { _ in Matrix(rows: 32, cols: 16) }.contains("is [32, 16], the source tensor is [16, 32]"))
        #expect(write([q], to: dir.path + "/ok.gguf") == "no error")
        try FileManager.default.removeItem(atPath: dir.path + "/ok.gguf")
        #expect(write([q], cancel: CancellationToken()) == "[does not name the file] cancelled")
        #expect(try listing(dir).isEmpty, "nothing written, no temporary left")
        #expect(write([q], to: "/proc/spqr-writer-test.gguf").hasPrefix("cannot create a file in /proc"))
    }
}
