// GGUF (llama.cpp / ggml), versions 2 and 3, little-endian:
//
//   "GGUF" u32 version, u64 tensor_count, u64 kv_count
//   kv_count × { string key, u32 type, value }          string = u64 length + UTF-8 bytes (no terminator)
//     types 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 8 string, 9 array (u32 type, u64 n, n values),
//           10 u64, 11 i64, 12 f64
//   tensor_count × { string name, u32 n_dims, n_dims × u64 ne, u32 ggml_type, u64 offset }
//   padding to `general.alignment` (a u32 power of two, default 32), then the data section; tensor offsets
//   are relative to it and multiples of the alignment.
//
// ne[0] is the fastest-varying dimension, so a 2-D weight with ne = [in, out] is the row-major matrix
// [out, in]. Version 1 (u32 counts and lengths) is not read. Sources: ggml/docs/gguf.md and the reader
// ggml/src/gguf.cpp in the llama.cpp repository, whose rules are kept: keys and tensor names are unique,
// arrays do not nest, at most 4 dimensions. Every length and count read from the file is checked against
// the bytes that remain before it is used, tensors must lie inside the data section without overlapping,
// and nothing is read past the end of the file. Metadata values are in GGUFMetadata.swift; arrays are walked
// to validate them, kept as their bytes and decoded only when asked for. The file is read with pread
// (`FileBytes`, never a memory map): a file truncated while open gives an error, not SIGBUS.

import Foundation

/// One tensor of a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The name in the file (llama.cpp's, e.g. `blk.0.attn_q.weight`).
    public let name: String
    /// ggml order: ne[0] varies fastest.
    public let dimensions: [Int]
    /// The ggml element type.
    public let type: GGMLType
    /// Offset within the data section.
    public let offset: Int
    /// Bytes the tensor occupies.
    public let byteCount: Int

    /// Element count (checked against overflow when the file was opened).
    public var elementCount: Int { dimensions.reduce(1, *) }
    /// Row-major shape, the reverse of ggml order: [out, in] for a 2-D weight.
    public var shape: [Int] { dimensions.reversed() }
}

/// A GGUF file: header, metadata and tensor table read when opened, tensor data on demand.
public final class GGUFFile: @unchecked Sendable {
    /// The path it was opened from.
    public let path: String
    /// 2 or 3.
    public let version: Int
    /// The key-value metadata (`general.architecture`, `llama.attention.head_count`, …).
    public let metadata: [String: GGUFValue]
    /// The metadata keys in file order, each with the value type it is stored as (`metadata` alone does
    /// not tell a u8 from a u64), so that a writer can copy every value exactly.
    public let metadataKeys: [(key: String, type: GGUFValueType)]
    /// Tensors in file order.
    public let tensors: [GGUFTensorInfo]
    /// The data section's alignment in bytes.
    public let alignment: Int
    private let index: [String: Int]
    /// The open file.
    let bytes: FileBytes
    /// The file offset of the data section.
    let dataStart: Int

    /// Opens and validates a GGUF file (header, metadata, tensor table); tensor data is read on demand.
    public init(path: String) throws {
        self.path = path
        func fail(_ m: String) -> SpQRError { SpQRError(.fileFormat, "\(path): \(m)") }
        let file = try FileBytes(path: path)
        var r = ByteReader(file: file)
        let magic = try r.bytes(4, what: "magic")
        guard magic == Array("GGUF".utf8) else {
            throw fail(
                "not a GGUF file (magic \(magic.map { String(format: "%02x", $0) }.joined()) instead of 47475546 \"GGUF\")"
            )
        }
        let version = try r.u32("version")
        guard version == 2 || version == 3 else {
            if version.byteSwapped == 2 || version.byteSwapped == 3 {
                throw fail(
                    "big-endian GGUF (version \(version.byteSwapped) byte-swapped) is not supported; convert it on a little-endian machine"
                )
            }
            throw fail(
                "GGUF version \(version) is not supported (versions 2 and 3 are\(version == 1 ? "; re-convert version 1 files with a current llama.cpp" : ""))"
            )
        }
        // The smallest possible entries: a tensor info with an empty name and one dimension; a key-value
        // pair with an empty key and a one-byte value.
        let tensorCount = try r.count("tensor count", minimumBytesEach: 8 + 4 + 8 + 4 + 8)
        let kvCount = try r.count("metadata count", minimumBytesEach: 8 + 4 + 1)
        var metadata: [String: GGUFValue] = [:]
        var metadataKeys: [(key: String, type: GGUFValueType)] = []
        for i in 0..<kvCount {
            let key = try r.string("metadata key \(i)")
            guard metadata[key] == nil else { throw fail("metadata key \"\(key)\" appears twice") }
            let type = try r.valueType("type of metadata \(key)")
            metadata[key] = try r.value(type: type, key: key)
            metadataKeys.append((key, type))
        }
        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard let v = a.intValue else { throw fail("general.alignment must be an unsigned integer, got \(a)") }
            guard v > 0, v & (v - 1) == 0, v <= 1 << 30 else {
                throw fail("general.alignment \(v) must be a power of two (default 32)")
            }
            alignment = v
        }
        var infos: [(name: String, dims: [Int], type: UInt32, offset: UInt64)] = []
        infos.reserveCapacity(tensorCount)
        var seen = Set<String>()
        for i in 0..<tensorCount {
            let name = try r.string("name of tensor \(i)")
            guard seen.insert(name).inserted else { throw fail("tensor name \"\(name)\" appears twice") }
            let nDims = try r.u32("dimension count of \(name)")
            guard nDims <= 4 else { throw fail("tensor \"\(name)\" has \(nDims) dimensions (at most 4 allowed)") }
            var dims: [Int] = []
            for _ in 0..<nDims {
                let d = try r.u64("dimension of \(name)")
                guard d <= UInt64(Int64.max) else {
                    throw fail("tensor \"\(name)\" has a negative or absurd dimension \(d)")
                }
                dims.append(Int(d))
            }
            let type = try r.u32("type of \(name)")
            let offset = try r.u64("offset of \(name)")
            infos.append((name, dims, type, offset))
        }
        let dataStart = tensorCount == 0 ? r.offset : (r.offset + alignment - 1) / alignment * alignment
        guard dataStart <= file.size else {
            throw fail(
                "truncated: the data section would start at byte \(dataStart), past the end of the \(file.size)-byte file"
            )
        }
        let dataLength = file.size - dataStart
        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(infos.count)
        for (name, dims, typeID, offset) in infos {
            guard let type = GGMLType(rawValue: typeID) else {
                throw fail(
                    "tensor \"\(name)\" has unknown ggml type \(typeID)\(GGMLType.removed.contains(typeID) ? " (a type llama.cpp no longer supports)" : "")"
                )
            }
            guard let count = checkedProduct(dims) else {
                throw fail("tensor \"\(name)\" dimensions \(dims) overflow the element count")
            }
            guard dims.isEmpty || dims[0] % type.blockSize == 0 else {
                throw fail(
                    "tensor \"\(name)\" of type \(type) has rows of \(dims[0]) elements, not a multiple of its block of \(type.blockSize)"
                )
            }
            let (bytes, o) = (count / type.blockSize).multipliedReportingOverflow(by: type.bytesPerBlock)
            guard !o else { throw fail("tensor \"\(name)\" dimensions \(dims) of \(type) overflow the byte count") }
            guard offset % UInt64(alignment) == 0 else {
                throw fail("tensor \"\(name)\" offset \(offset) is not a multiple of the alignment \(alignment)")
            }
            guard offset <= UInt64(dataLength), bytes <= dataLength - Int(offset) else {
                throw fail(
                    "tensor \"\(name)\" (\(bytes) bytes at offset \(offset)) does not fit the \(dataLength)-byte data section (truncated?)"
                )
            }
            tensors.append(
                GGUFTensorInfo(name: name, dimensions: dims, type: type, offset: Int(offset), byteCount: bytes))
        }
        var furthest: GGUFTensorInfo?
        for t in tensors.sorted(by: { ($0.offset, $0.byteCount) < ($1.offset, $1.byteCount) }) where t.byteCount > 0 {
            if let f = furthest, t.offset < f.offset + f.byteCount {
                throw fail("tensors \"\(f.name)\" and \"\(t.name)\" overlap in the data section")
            }
            if t.offset + t.byteCount > (furthest.map { $0.offset + $0.byteCount } ?? 0) { furthest = t }
        }
        self.version = Int(version)
        self.metadata = metadata
        self.metadataKeys = metadataKeys
        self.alignment = alignment
        self.tensors = tensors
        self.index = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
        self.bytes = file
        self.dataStart = dataStart
    }

    /// The entry named `name`.
    public func info(_ name: String) throws -> GGUFTensorInfo {
        guard let i = index[name] else { throw SpQRError(.fileFormat, "\(path): no tensor named \"\(name)\"") }
        return tensors[i]
    }

    /// Whether the file holds a tensor named `name`.
    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// A tensor dequantized to Float, in row-major order of `shape`; refused before anything is
    /// allocated when its Float copy does not fit the available memory.
    public func floats(_ name: String) throws -> [Float] {
        try floats(name, elements: 0..<(try info(name)).elementCount)
    }

    /// Elements `range` of a tensor in the file's order (ggml order, row-major for `shape`) dequantized
    /// to Float; the bounds must be multiples of the type's block size.
    public func floats(_ name: String, elements range: Range<Int>) throws -> [Float] {
        let t = try info(name)
        try checkSupported(t)
        try MemoryBudget.checkFloats(range.count, tensor: name, path: path)
        return try [Float](unsafeUninitializedCapacity: range.count) { out, initialized in
            initialized = 0
            guard let base = out.baseAddress else { return }
            try readFloats(t, elements: range, into: base)
            initialized = range.count
        }
    }

    /// Elements `range` of tensor `t` dequantized into `out` (which holds `range.count` values), whole blocks
    /// a chunk at a time through one reused buffer; the bounds must be multiples of the type's block size.
    public func readFloats(_ t: GGUFTensorInfo, elements range: Range<Int>, into out: UnsafeMutablePointer<Float>)
        throws
    {
        try checkSupported(t)
        let block = t.type.blockSize
        precondition(
            range.lowerBound >= 0 && range.upperBound <= t.elementCount && range.lowerBound % block == 0
                && range.upperBound % block == 0, "elements \(range) of \(t.elementCount) in blocks of \(block)")
        let blocksPerChunk = max(1, FileBytes.conversionChunk / block)
        let buffer = UnsafeMutableRawBufferPointer.allocate(
            byteCount: blocksPerChunk * t.type.bytesPerBlock, alignment: 8)
        defer { buffer.deallocate() }
        var firstBlock = range.lowerBound / block
        let endBlock = range.upperBound / block
        while firstBlock < endBlock {
            let n = min(blocksPerChunk, endBlock - firstBlock)
            let raw = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(n * t.type.bytesPerBlock)])
            try bytes.read(
                at: dataStart + t.offset + firstBlock * t.type.bytesPerBlock, into: raw, what: "tensor \"\(t.name)\"")
            GGMLDequantize.convert(
                UnsafeRawBufferPointer(raw), type: t.type, count: n * block,
                into: out + (firstBlock * block - range.lowerBound))
            firstBlock += n
        }
    }

    private func checkSupported(_ t: GGUFTensorInfo) throws {
        guard t.type.isSupported else {
            throw SpQRError(
                .unsupported,
                "\(path): tensor \"\(t.name)\" has type \(t.type), which cannot be dequantized here "
                    + "(\(GGMLType.supported.map(\.name).joined(separator: ", ")) can)")
        }
    }
}
