// Writing a whole model as a Hugging Face SpQR directory (layout in SpQRHFLayer.swift):
//
//   model.safetensors  metadata {"format": "pt"}; every tensor of the source that is not quantized, under
//                      its Hugging Face name, in F16; for every quantized `<module>.weight` the four tensors
//                      `<module>.dense_weights` (I64), `.row_offsets`, `.col_vals`, `.in_perm` (I32)
//   config.json        the base config + `quantization_config` (SpQRHF.quantizationConfig) + torch_dtype float16
//   tokenizer files    copied when the source is a Hugging Face directory
//
// A safetensors header needs every tensor's length first, and an outlier count is known only once its
// layer is packed; so each packed layer is spilled to a scratch file as it arrives, and model.safetensors
// is written afterwards, one tensor at a time (source tensors loaded with `Checkpoint.load(_:into:)`).
// Everything is built in a temporary sibling directory, renamed into place only when complete and
// removed on any failure.

import Foundation

/// Writes Hugging Face SpQR checkpoint directories.
public enum SpQRHFWriter {
    /// Tokenizer and generation files copied from a Hugging Face source directory when present.
    public static let companionFiles = [
        "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json",
        "vocab.json", "merges.txt", "tokenizer.model", "added_tokens.json",
    ]

    /// Writes `directory` from `source`.
    /// - Parameters:
    ///   - baseConfig: the model's transformers config.json object (`quantization_config` and
    ///     `torch_dtype` are set here).
    ///   - quantized: Hugging Face weight names (`model.layers.0.self_attn.q_proj.weight`) to store quantized;
    ///     each module is the name without ".weight".
    ///   - packed: the packed layer of a quantized weight name; called once per name, in order.
    ///   - directory: must not exist or be empty; its parent must exist.
    public static func write(
        source: any Checkpoint, baseConfig: [String: Any], quantized: [String],
        packed: (String) throws -> SpQRHFLayer, to directory: String, cancel: CancellationToken? = nil
    ) throws {
        let modules = try checkedModules(quantized, in: source)
        try AtomicDirectory.build(directory, cancel: cancel) { tmp in
            let spill = try Spill(path: tmp + "/.layers.spill")
            var shapes: [String: [Int]] = [:]
            for name in quantized {
                try cancel?.check()
                let entry = modules[name]!
                let layer = try packed(name)
                guard layer.rows == entry.shape[0], layer.cols == entry.shape[1] else {
                    throw SpQRError(
                        .shapeMismatch,
                        "\(name): the packed layer is \(layer.rows) × \(layer.cols) but the tensor is \(entry.shape[0]) × \(entry.shape[1])"
                    )
                }
                shapes[module(of: name)] = SpQRHF.lengths(layer)
                try spill.append(layer, module: module(of: name))
            }
            let plain = source.tensors.filter { modules[$0.name] == nil }
            try writeSafetensors(
                tmp + "/model.safetensors", source: source, plain: plain, shapes: shapes, spill: spill, cancel: cancel)
            spill.close()
            unlink(tmp + "/.layers.spill")
            var config = baseConfig
            config["quantization_config"] = SpQRHF.quantizationConfig(
                shapes: shapes, notConverted: plain.map(\.name).filter { $0.hasSuffix(".weight") }.sorted())
            config["torch_dtype"] = "float16"
            let json = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
            try AtomicFile.write(json, to: tmp + "/config.json")
            try copyCompanions(of: source, into: tmp)
        }
    }

    /// The module of a weight name: the name without ".weight".
    static func module(of name: String) -> String { String(name.dropLast(".weight".count)) }

    /// The quantized names' entries, checked: present, named `….weight`, 2-D, shapes the format holds, no repeats.
    static func checkedModules(_ names: [String], in source: any Checkpoint) throws -> [String: TensorEntry] {
        var modules: [String: TensorEntry] = [:]
        for name in names {
            guard name.hasSuffix(".weight"), name.count > ".weight".count else {
                throw SpQRError(.invalidSetting, "\(name): a quantized tensor must be a linear layer's \"….weight\"")
            }
            let e = try source.entry(name)
            guard e.name == name else {
                throw SpQRError(.invalidSetting, "\(name): give the Hugging Face name \(e.name), as the output uses it")
            }
            guard modules[name] == nil else { throw SpQRError(.invalidSetting, "\(name) is listed twice") }
            guard e.shape.count == 2 else {
                throw SpQRError(.shapeMismatch, "\(name): shape \(e.shape); only 2-D linear weights can be quantized")
            }
            try SpQRHF.check(rows: e.shape[0], cols: e.shape[1], name: name)
            modules[name] = e
        }
        return modules
    }

    /// Writes model.safetensors: the plain tensors in F16 and the spilled layers' tensors, sorted by name.
    static func writeSafetensors(
        _ path: String, source: any Checkpoint, plain: [TensorEntry], shapes: [String: [Int]], spill: Spill,
        cancel: CancellationToken?
    ) throws {
        enum Piece { case plain(TensorEntry), packed(module: String, part: Int) }
        var pieces: [(name: String, dtype: SafetensorsDType, shape: [Int], piece: Piece)] = plain.map {
            ($0.name, .F16, $0.shape, .plain($0))
        }
        for (module, lengths) in shapes {
            for (k, suffix) in SpQRHF.tensorSuffixes.enumerated() {
                pieces.append(
                    ("\(module).\(suffix)", k == 0 ? .I64 : .I32, [lengths[k]], .packed(module: module, part: k)))
            }
        }
        pieces.sort { $0.name < $1.name }
        let writer = try SafetensorsStreamWriter(
            path: path, typed: pieces.map { ($0.name, $0.dtype, $0.shape) }, metadata: ["format": "pt"])
        for p in pieces {
            try cancel?.check()
            switch p.piece {
            case .plain(let e):
                try MemoryBudget.checkFloats(e.elementCount, tensor: e.name, path: source.path)
                var values = [Float](repeating: 0, count: e.elementCount)
                try values.withUnsafeMutableBufferPointer { try source.load(e.name, into: $0) }
                var half = [UInt16](repeating: 0, count: values.count)
                for (i, v) in values.enumerated() {
                    let h = Float16(v)
                    guard h.isFinite || !v.isFinite else {
                        writer.abandon()
                        throw SpQRError(
                            .nonFinite,
                            "\(e.name): value \(v) at element \(i) is beyond fp16's range (±65504); spqr-hf stores the model in fp16"
                        )
                    }
                    half[i] = h.bitPattern.littleEndian
                }
                try half.withUnsafeBytes { try writer.appendBytes($0) }
            case .packed(let module, let part):
                try spill.copy(module: module, part: part, to: writer)
            }
        }
        try writer.finish()
    }

    /// Copies the tokenizer and generation files of a Hugging Face source directory into `directory`.
    static func copyCompanions(of source: any Checkpoint, into directory: String) throws {
        guard !(source is GGUFCheckpoint) else { return }
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory)
        let dir = isDirectory.boolValue ? source.path : (source.path as NSString).deletingLastPathComponent
        for name in companionFiles {
            let from = ((dir.isEmpty ? "." : dir) as NSString).appendingPathComponent(name)
            guard FileManager.default.fileExists(atPath: from) else { continue }
            guard let data = FileManager.default.contents(atPath: from) else {
                throw SpQRError(.io, "\(from): cannot read it to copy it beside the model; check its permissions")
            }
            try AtomicFile.write(data, to: directory + "/" + name)
        }
    }
}

/// Packed layers kept in a scratch file until model.safetensors is written: each module's four tensors as
/// little-endian bytes, one after another.
final class Spill {
    let path: String
    private var fd: Int32
    private var end = 0
    /// Byte range of each module's tensors, in `SpQRHF.tensorSuffixes` order.
    private var ranges: [String: [Range<Int>]] = [:]

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            throw SpQRError(.io, "\(path): cannot create a scratch file (\(String(cString: strerror(errno))))")
        }
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Foundation.close(fd) }
        fd = -1
    }

    /// Appends the four tensors of `module`'s layer.
    func append(_ layer: SpQRHFLayer, module: String) throws {
        var parts: [Range<Int>] = []
        func put(_ raw: UnsafeRawBufferPointer) throws {
            try write(raw, at: end)
            parts.append(end..<(end + raw.count))
            end += raw.count
        }
        try layer.denseWeights.map(\.littleEndian).withUnsafeBytes(put)
        try layer.rowOffsets.map(\.littleEndian).withUnsafeBytes(put)
        try layer.colVals.map(\.littleEndian).withUnsafeBytes(put)
        try layer.inPerm.map(\.littleEndian).withUnsafeBytes(put)
        ranges[module] = parts
    }

    /// Streams one tensor of `module` to `writer` in chunks.
    func copy(module: String, part: Int, to writer: SafetensorsStreamWriter) throws {
        guard let range = ranges[module]?[part] else {
            throw SpQRError(.io, "\(path): internal: no spilled tensor for \(module)")
        }
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 8)
        defer { buffer.deallocate() }
        var at = range.lowerBound
        while at < range.upperBound {
            let n = min(chunk, range.upperBound - at)
            let got = pread(fd, buffer.baseAddress!, n, off_t(at))
            guard got > 0 else {
                throw SpQRError(
                    .io, "\(path): could not read back a packed layer (\(String(cString: strerror(errno))))")
            }
            try writer.appendBytes(UnsafeRawBufferPointer(rebasing: buffer[0..<got]))
            at += got
        }
    }

    private func write(_ raw: UnsafeRawBufferPointer, at offset: Int) throws {
        var done = 0
        while done < raw.count {
            let n = pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                throw SpQRError(
                    .io,
                    "\(path): could not write a packed layer (\(String(cString: strerror(errno)))); free some space or choose another location"
                )
            }
            done += n
        }
    }
}
