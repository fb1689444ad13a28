// Reading a Hugging Face SpQR directory (config.json with quantization_config.quant_method "spqr", and
// model.safetensors or shards) as a checkpoint: every plain tensor as stored, and every quantized module as
// a 2-D `<module>.weight` decoded with `SpQRHFLayer.dequantized()` (the reference's `dequantize_compressed`).
//
// Opening checks the quantization_config (bits 3, beta1 16, beta2 16, a shapes entry for each of the four
// tensors of every module), the tensors against it (dtype, 1-D, length), the layer's shape (out = row
// offsets − 1, in = 2 · in_perm entries, out·in/16 dense words) and the small tensors' contents (row
// offsets, columns, outlier values, the permutation) by building each layer without its dense words.

import Foundation

/// A Hugging Face SpQR checkpoint directory.
public struct SpQRHFCheckpoint: Checkpoint {
    public let path: String
    /// The safetensors file(s).
    let files: SafetensorsDirectoryCheckpoint
    let table: TensorTable
    /// Quantized modules by their `<module>.weight` name: out, in.
    let modules: [String: (rows: Int, cols: Int)]

    public var tensors: [TensorEntry] { table.entries }

    /// The element type shown for a quantized module.
    public static let dtypeName = "SPQR3"

    /// Whether `directory` holds a config.json whose quantization_config says quant_method "spqr".
    public static func isSpQRDirectory(_ directory: String) -> Bool {
        guard let config = try? readConfig(directory) else { return false }
        return (config["quantization_config"] as? [String: Any])?["quant_method"] as? String == "spqr"
    }

    static func readConfig(_ directory: String) throws -> [String: Any] {
        let configPath = (directory as NSString).appendingPathComponent("config.json")
        guard let data = FileManager.default.contents(atPath: configPath) else {
            throw SpQRError(.io, "\(configPath): cannot read the model's config.json")
        }
        guard data.count <= SafetensorsFile.maxHeaderBytes,
            let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else {
            throw SpQRError(.fileFormat, "\(configPath): not a JSON object")
        }
        return json
    }

    /// Opens and checks the directory (see the file header for what is checked).
    public init(path: String) throws {
        self.path = path
        let configPath = (path as NSString).appendingPathComponent("config.json")
        func fail(_ m: String) -> SpQRError { SpQRError(.fileFormat, "\(configPath): \(m)") }
        guard let q = try Self.readConfig(path)["quantization_config"] as? [String: Any] else {
            throw fail("no quantization_config object")
        }
        guard q["quant_method"] as? String == "spqr" else {
            throw fail("quantization_config.quant_method is not \"spqr\"")
        }
        for (key, value) in [("bits", 3), ("beta1", 16), ("beta2", 16)] where JSONValue.integer(q[key] as Any) != value
        {
            throw fail(
                "quantization_config.\(key) is \(q[key].map { "\($0)" } ?? "missing"); spqr-hf holds only \(value)")
        }
        guard let shapeObject = q["shapes"] as? [String: Any] else {
            throw fail("quantization_config.shapes is missing")
        }
        var shapes: [String: Int] = [:]
        for (k, v) in shapeObject {
            guard let n = JSONValue.integer(v), n >= 0 else {
                throw fail("quantization_config.shapes[\"\(k)\"] is \(v), not a non-negative integer")
            }
            shapes[k] = n
        }
        let files = try SafetensorsDirectoryCheckpoint(path: path)
        self.files = files
        let suffix = ".\(SpQRHF.tensorSuffixes[0]).shape"
        let moduleNames = shapes.keys.filter { $0.hasSuffix(suffix) }.map { String($0.dropLast(suffix.count)) }.sorted()
        var parts = Set<String>()
        var modules: [String: (rows: Int, cols: Int)] = [:]
        var entries: [TensorEntry] = []
        for module in moduleNames {
            var lengths: [Int] = []
            for (k, part) in SpQRHF.tensorSuffixes.enumerated() {
                let name = "\(module).\(part)"
                guard let expected = shapes["\(name).shape"] else {
                    throw fail(
                        "quantization_config.shapes has no \"\(name).shape\"; every quantized module needs all four")
                }
                let e = try files.entry(name)
                let dtype = k == 0 ? "I64" : "I32"
                guard e.dtype == dtype, e.shape == [expected] else {
                    throw SpQRError(
                        .fileFormat,
                        "\(e.file): tensor \"\(name)\" is \(e.dtype) \(e.shape); quantization_config.shapes says \(dtype) [\(expected)]"
                    )
                }
                lengths.append(expected)
                parts.insert(name)
            }
            let rows = lengths[1] - 1
            let cols = lengths[3] * 2
            try SpQRHFLayer.check(
                rows: rows, cols: cols, denseWords: lengths[0],
                rowOffsets: try Self.integers(files, "\(module).row_offsets"),
                colVals: try Self.integers(files, "\(module).col_vals"),
                inPerm: try Self.integers(files, "\(module).in_perm"), name: "\(path): \(module)")
            modules["\(module).weight"] = (rows, cols)
            let bits = Double(SpQRHF.storageBits(lengths: lengths)) / Double(rows * cols)
            entries.append(
                TensorEntry(
                    name: "\(module).weight", shape: [rows, cols], dtype: Self.dtypeName, bitsPerWeight: bits,
                    notQuantizableReason: nil, file: try files.entry("\(module).dense_weights").file,
                    note: "dequantized from the spqr-hf format (3-bit SpQR, \(lengths[2]) outliers)"))
        }
        for key in shapes.keys where key.hasSuffix(".shape") && !parts.contains(String(key.dropLast(".shape".count))) {
            throw fail(
                "quantization_config.shapes has \"\(key)\" but no \"\(key.split(separator: ".").dropLast(2).joined(separator: "."))\(suffix)\""
            )
        }
        entries += files.tensors.filter { !parts.contains($0.name) }
        self.table = try TensorTable(entries, path: path)
        self.modules = modules
    }

    /// An I32 tensor's values.
    private static func integers(_ files: SafetensorsDirectoryCheckpoint, _ name: String) throws -> [Int32] {
        let e = try files.entry(name)
        return try files.shard(of: e).file.integers(name).map { Int32(truncatingIfNeeded: $0) }
    }

    public func entry(_ name: String) throws -> TensorEntry { try table.entry(name, path: path) }

    /// The packed layer of a quantized `<module>.weight`, read and checked.
    public func layer(_ name: String) throws -> SpQRHFLayer {
        let e = try entry(name)
        guard let shape = modules[e.name] else {
            throw SpQRError(.invalidSetting, "\(path): \(name) is not a quantized module")
        }
        let module = SpQRHFWriter.module(of: e.name)
        let file = try files.shard(of: try files.entry("\(module).dense_weights")).file
        try MemoryBudget.checkFloats(shape.rows * shape.cols, tensor: name, path: path)
        return try SpQRHFLayer(
            rows: shape.rows, cols: shape.cols,
            denseWeights: try file.integers("\(module).dense_weights").map { UInt64(bitPattern: Int64($0)) },
            rowOffsets: try Self.integers(files, "\(module).row_offsets"),
            colVals: try Self.integers(files, "\(module).col_vals"),
            inPerm: try Self.integers(files, "\(module).in_perm"), name: "\(path): \(module)")
    }

    /// Whether `name` is a quantized module.
    public func isQuantized(_ name: String) -> Bool { (try? entry(name)).map { modules[$0.name] != nil } ?? false }

    public func matrix(_ name: String) throws -> Matrix {
        let e = try entry(name)
        if modules[e.name] != nil { return try layer(e.name).dequantized() }
        return try files.matrix(e.name)
    }

    public func statistics(_ name: String) throws -> TensorStatistics {
        let e = try entry(name)
        if modules[e.name] != nil { return TensorStatistics(try matrix(e.name).values) }
        return try files.statistics(e.name)
    }
}
