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
// and nothing is read outside the map. Metadata arrays (a tokenizer's 100k+ strings) are walked to
// validate them but decoded only when asked for.

import Foundation

/// The value types of GGUF metadata (gguf.md `gguf_metadata_value_type`).
public enum GGUFValueType: UInt32, Sendable, CustomStringConvertible {
    case uint8 = 0, int8, uint16, int16, uint32, int32, float32, bool, string, array, uint64, int64, float64

    /// Bytes per value for fixed-size types; nil for strings and arrays.
    public var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    public var description: String {
        switch self {
        case .uint8: return "u8"; case .int8: return "i8"; case .uint16: return "u16"; case .int16: return "i16"
        case .uint32: return "u32"; case .int32: return "i32"; case .float32: return "f32"; case .bool: return "bool"
        case .string: return "string"; case .array: return "array"; case .uint64: return "u64"; case .int64: return "i64"
        case .float64: return "f64"
        }
    }
}

/// A metadata value of a GGUF file.
public enum GGUFValue: Sendable, Equatable {
    case uint(UInt64), int(Int64), float(Double), bool(Bool), string(String), array(GGUFArray)

    /// The value as an integer, if it is one that fits an Int.
    public var intValue: Int? {
        switch self {
        case .uint(let v): return v <= UInt64(Int.max) ? Int(v) : nil
        case .int(let v): return Int(v)
        default: return nil
        }
    }

    /// The value as a string, if it is one.
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }

    /// The value as a number, if it is one.
    public var doubleValue: Double? {
        switch self {
        case .uint(let v): return Double(v)
        case .int(let v): return Double(v)
        case .float(let v): return v
        default: return nil
        }
    }

    /// The value as an array, if it is one.
    public var arrayValue: GGUFArray? { if case .array(let a) = self { return a } else { return nil } }
}

/// A metadata array, kept as its bytes in the mapped file and decoded on demand.
public struct GGUFArray: Sendable, Equatable {
    /// The type of every element (never `.array`: arrays do not nest).
    public let elementType: GGUFValueType
    /// Number of elements.
    public let count: Int
    /// The elements' bytes (a slice of the map; for strings, each is a u64 length and its bytes).
    let bytes: Data

    /// Every element, decoded (invalid UTF-8 in a string element is replaced by U+FFFD).
    public var values: [GGUFValue] {
        bytes.withUnsafeBytes { raw in
            var out: [GGUFValue] = []
            out.reserveCapacity(count)
            var at = 0
            for _ in 0..<count {
                if let size = elementType.fixedSize {
                    out.append(GGUFArray.decode(elementType, raw, at))
                    at += size
                } else {
                    let n = Int(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
                    out.append(.string(String(decoding: UnsafeRawBufferPointer(rebasing: raw[(at + 8)..<(at + 8 + n)]), as: UTF8.self)))
                    at += 8 + n
                }
            }
            return out
        }
    }

    /// Element `i`: constant time for fixed-size types, a walk over the strings before it otherwise.
    public subscript(i: Int) -> GGUFValue {
        precondition(i >= 0 && i < count, "GGUFArray index \(i) out of 0..<\(count)")
        if let size = elementType.fixedSize { return bytes.withUnsafeBytes { GGUFArray.decode(elementType, $0, i * size) } }
        return bytes.withUnsafeBytes { raw in
            var at = 0
            for _ in 0..<i { at += 8 + Int(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self))) }
            let n = Int(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
            return .string(String(decoding: UnsafeRawBufferPointer(rebasing: raw[(at + 8)..<(at + 8 + n)]), as: UTF8.self))
        }
    }

    /// The elements as strings, if they are strings.
    public var strings: [String]? {
        guard elementType == .string else { return nil }
        return values.compactMap(\.stringValue)
    }

    static func decode(_ type: GGUFValueType, _ raw: UnsafeRawBufferPointer, _ at: Int) -> GGUFValue {
        func load<T: FixedWidthInteger>(_: T.Type) -> T { T(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: T.self)) }
        switch type {
        case .uint8: return .uint(UInt64(load(UInt8.self)))
        case .int8: return .int(Int64(load(Int8.self)))
        case .uint16: return .uint(UInt64(load(UInt16.self)))
        case .int16: return .int(Int64(load(Int16.self)))
        case .uint32: return .uint(UInt64(load(UInt32.self)))
        case .int32: return .int(Int64(load(Int32.self)))
        case .float32: return .float(Double(Float(bitPattern: load(UInt32.self))))
        case .bool: return .bool(load(UInt8.self) != 0)
        case .uint64: return .uint(load(UInt64.self))
        case .int64: return .int(load(Int64.self))
        case .float64: return .float(Double(bitPattern: load(UInt64.self)))
        case .string, .array: preconditionFailure("GGUFArray.decode of \(type)")
        }
    }
}

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

/// A memory-mapped GGUF file.
public final class GGUFFile: @unchecked Sendable {
    /// The path it was opened from.
    public let path: String
    /// 2 or 3.
    public let version: Int
    /// The key-value metadata (`general.architecture`, `llama.attention.head_count`, …).
    public let metadata: [String: GGUFValue]
    /// Tensors in file order.
    public let tensors: [GGUFTensorInfo]
    /// The data section's alignment in bytes.
    public let alignment: Int
    private let index: [String: Int]
    private let data: Data
    private let dataStart: Int

    /// Opens and validates a GGUF file (header, metadata, tensor table); tensor data is read on demand.
    public init(path: String) throws {
        self.path = path
        func fail(_ m: String) -> SpQRError { SpQRError(.fileFormat, "\(path): \(m)") }
        let data = try MappedFile.map(path)
        var r = ByteReader(data: data, path: path)
        let magic = try r.bytes(4, what: "magic")
        guard magic == Array("GGUF".utf8) else {
            throw fail("not a GGUF file (magic \(magic.map { String(format: "%02x", $0) }.joined()) instead of 47475546 \"GGUF\")")
        }
        let version = try r.u32("version")
        guard version == 2 || version == 3 else {
            if version.byteSwapped == 2 || version.byteSwapped == 3 {
                throw fail("big-endian GGUF (version \(version.byteSwapped) byte-swapped) is not supported; convert it on a little-endian machine")
            }
            throw fail("GGUF version \(version) is not supported (versions 2 and 3 are\(version == 1 ? "; re-convert version 1 files with a current llama.cpp" : ""))")
        }
        // The smallest possible entries: a tensor info with an empty name and one dimension; a key-value
        // pair with an empty key and a one-byte value.
        let tensorCount = try r.count("tensor count", minimumBytesEach: 8 + 4 + 8 + 4 + 8)
        let kvCount = try r.count("metadata count", minimumBytesEach: 8 + 4 + 1)
        var metadata: [String: GGUFValue] = [:]
        for i in 0..<kvCount {
            let key = try r.string("metadata key \(i)")
            guard metadata[key] == nil else { throw fail("metadata key \"\(key)\" appears twice") }
            let type = try r.valueType("type of metadata \(key)")
            metadata[key] = try r.value(type: type, key: key)
        }
        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard let v = a.intValue else { throw fail("general.alignment must be an unsigned integer, got \(a)") }
            guard v > 0, v & (v - 1) == 0, v <= 1 << 30 else { throw fail("general.alignment \(v) must be a power of two (default 32)") }
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
                guard d <= UInt64(Int64.max) else { throw fail("tensor \"\(name)\" has a negative or absurd dimension \(d)") }
                dims.append(Int(d))
            }
            let type = try r.u32("type of \(name)")
            let offset = try r.u64("offset of \(name)")
            infos.append((name, dims, type, offset))
        }
        let dataStart = tensorCount == 0 ? r.offset : (r.offset + alignment - 1) / alignment * alignment
        guard dataStart <= data.count else {
            throw fail("truncated: the data section would start at byte \(dataStart), past the end of the \(data.count)-byte file")
        }
        let dataLength = data.count - dataStart
        var tensors: [GGUFTensorInfo] = []
        tensors.reserveCapacity(infos.count)
        for (name, dims, typeID, offset) in infos {
            guard let type = GGMLType(rawValue: typeID) else {
                throw fail("tensor \"\(name)\" has unknown ggml type \(typeID)\(GGMLType.removed.contains(typeID) ? " (a type llama.cpp no longer supports)" : "")")
            }
            guard let count = checkedProduct(dims) else { throw fail("tensor \"\(name)\" dimensions \(dims) overflow the element count") }
            guard dims.isEmpty || dims[0] % type.blockSize == 0 else {
                throw fail("tensor \"\(name)\" of type \(type) has rows of \(dims[0]) elements, not a multiple of its block of \(type.blockSize)")
            }
            let (bytes, o) = (count / type.blockSize).multipliedReportingOverflow(by: type.bytesPerBlock)
            guard !o else { throw fail("tensor \"\(name)\" dimensions \(dims) of \(type) overflow the byte count") }
            guard offset % UInt64(alignment) == 0 else {
                throw fail("tensor \"\(name)\" offset \(offset) is not a multiple of the alignment \(alignment)")
            }
            guard offset <= UInt64(dataLength), bytes <= dataLength - Int(offset) else {
                throw fail("tensor \"\(name)\" (\(bytes) bytes at offset \(offset)) does not fit the \(dataLength)-byte data section (truncated?)")
            }
            tensors.append(GGUFTensorInfo(name: name, dimensions: dims, type: type, offset: Int(offset), byteCount: bytes))
        }
        var furthest: GGUFTensorInfo?
        for t in tensors.sorted(by: { ($0.offset, $0.byteCount) < ($1.offset, $1.byteCount) }) where t.byteCount > 0 {
            if let f = furthest, t.offset < f.offset + f.byteCount { throw fail("tensors \"\(f.name)\" and \"\(t.name)\" overlap in the data section") }
            if t.offset + t.byteCount > (furthest.map { $0.offset + $0.byteCount } ?? 0) { furthest = t }
        }
        self.version = Int(version)
        self.metadata = metadata
        self.alignment = alignment
        self.tensors = tensors
        self.index = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
        self.data = data
        self.dataStart = dataStart
    }

    /// The entry named `name`.
    public func info(_ name: String) throws -> GGUFTensorInfo {
        guard let i = index[name] else { throw SpQRError(.fileFormat, "\(path): no tensor named \"\(name)\"") }
        return tensors[i]
    }

    /// Whether the file holds a tensor named `name`.
    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// The stored (possibly block-quantized) bytes of a tensor, read from the mapped file.
    public func withBytes<R>(_ t: GGUFTensorInfo, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try data.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[(dataStart + t.offset)..<(dataStart + t.offset + t.byteCount)]))
        }
    }

    /// A tensor dequantized to Float, in row-major order of `shape`.
    public func floats(_ name: String) throws -> [Float] {
        let t = try info(name)
        guard t.type.isSupported else {
            throw SpQRError(.unsupported, "\(path): tensor \"\(name)\" has type \(t.type), which cannot be dequantized here "
                + "(\(GGMLType.supported.map(\.name).joined(separator: ", ")) can)")
        }
        return data.withUnsafeBytes { raw in
            GGMLDequantize.toFloat(UnsafeRawBufferPointer(rebasing: raw[(dataStart + t.offset)..<(dataStart + t.offset + t.byteCount)]),
                                   type: t.type, count: t.elementCount)
        }
    }
}

/// Bounds-checked little-endian reads over a file's bytes (GGUF headers, importance matrices, .npy).
struct ByteReader {
    let data: Data
    let path: String
    var offset = 0

    var remaining: Int { data.count - offset }

    func fail(_ what: String, _ need: Int) -> SpQRError {
        SpQRError(.fileFormat, "\(path): truncated: \(what) needs \(need) bytes at offset \(offset), the file has \(data.count)")
    }

    mutating func bytes(_ n: Int, what: String) throws -> [UInt8] {
        guard n >= 0, n <= remaining else { throw fail(what, n) }
        defer { offset += n }
        return [UInt8](data[(data.startIndex + offset)..<(data.startIndex + offset + n)])
    }

    mutating func skip(_ n: Int, what: String) throws {
        guard n >= 0, n <= remaining else { throw fail(what, n) }
        offset += n
    }

    mutating func load<T: FixedWidthInteger>(_ what: String, as: T.Type) throws -> T {
        let n = MemoryLayout<T>.size
        guard n <= remaining else { throw fail(what, n) }
        defer { offset += n }
        return data.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    mutating func u32(_ what: String) throws -> UInt32 { try load(what, as: UInt32.self) }
    mutating func u64(_ what: String) throws -> UInt64 { try load(what, as: UInt64.self) }
    mutating func i32(_ what: String) throws -> Int { Int(try load(what, as: Int32.self)) }

    /// A u64 count that must be satisfiable by the remaining bytes, `minimumBytesEach` per item.
    mutating func count(_ what: String, minimumBytesEach: Int) throws -> Int {
        let c = try u64(what)
        guard c <= UInt64(max(0, remaining) / max(minimumBytesEach, 1)) else {
            throw SpQRError(.fileFormat, "\(path): \(what) \(c) cannot fit in the \(remaining) bytes that remain")
        }
        return Int(c)
    }

    /// A u64 length and that many bytes, checked before anything is copied.
    mutating func stringBytes(_ what: String) throws -> Range<Int> {
        let n = try u64("length of \(what)")
        guard n <= UInt64(remaining) else {
            throw SpQRError(.fileFormat, "\(path): \(what) claims \(n) bytes at offset \(offset), past the end of the \(data.count)-byte file")
        }
        defer { offset += Int(n) }
        return offset..<(offset + Int(n))
    }

    mutating func string(_ what: String) throws -> String {
        let range = try stringBytes(what)
        let s = data.withUnsafeBytes { String(validating: UnsafeRawBufferPointer(rebasing: $0[range]), as: UTF8.self) }
        guard let s else { throw SpQRError(.fileFormat, "\(path): \(what) is not valid UTF-8") }
        return s
    }

    mutating func valueType(_ what: String) throws -> GGUFValueType {
        let raw = try u32(what)
        guard let t = GGUFValueType(rawValue: raw) else {
            throw SpQRError(.fileFormat, "\(path): \(what) is \(raw), not a GGUF value type (0 to 12)")
        }
        return t
    }

    mutating func value(type: GGUFValueType, key: String) throws -> GGUFValue {
        switch type {
        case .string:
            return .string(try string("metadata \(key)"))
        case .array:
            let elementType = try valueType("element type of metadata \(key)")
            guard elementType != .array else { throw SpQRError(.fileFormat, "\(path): metadata \(key) nests arrays, which GGUF readers do not accept") }
            let n = try count("element count of metadata \(key)", minimumBytesEach: elementType.fixedSize ?? 8)
            let start = offset
            if let size = elementType.fixedSize {
                try skip(n * size, what: "metadata \(key)")
            } else {
                for i in 0..<n { _ = try stringBytes("element \(i) of metadata \(key)") }
            }
            return .array(GGUFArray(elementType: elementType, count: n, bytes: data[(data.startIndex + start)..<(data.startIndex + offset)]))
        default:
            let size = type.fixedSize!
            guard size <= remaining else { throw fail("metadata \(key)", size) }
            defer { offset += size }
            return data.withUnsafeBytes { GGUFArray.decode(type, $0, offset) }
        }
    }
}
