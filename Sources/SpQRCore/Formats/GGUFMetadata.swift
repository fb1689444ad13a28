// GGUF metadata values (ggml/docs/gguf.md `gguf_metadata_value_type`): thirteen types, little-endian;
// a string is a u64 length and its UTF-8 bytes; an array is a u32 element type, a u64 count and the
// elements (arrays do not nest). Arrays are validated when the file is opened, kept as their bytes and
// decoded on demand, since a tokenizer's vocabulary holds 100k+ strings that most readers never need.
// The encoding (`GGUFValue.encode`) is the exact inverse of the decoding, so a value read as a type and
// written back as that type gives the same bytes (an array's bytes are copied as they were read).

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
        case .uint8: return "u8"
        case .int8: return "i8"
        case .uint16: return "u16"
        case .int16: return "i16"
        case .uint32: return "u32"
        case .int32: return "i32"
        case .float32: return "f32"
        case .bool: return "bool"
        case .string: return "string"
        case .array: return "array"
        case .uint64: return "u64"
        case .int64: return "i64"
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

extension GGUFValue {
    /// Appends the value encoded as `type` (gguf.md; the inverse of its decoding); `key` names it in errors.
    /// Integers must fit the type, an array must be encoded as `.array`.
    public func encode(as type: GGUFValueType, key: String, into out: inout [UInt8]) throws {
        func put<T: FixedWidthInteger>(_ v: T) { withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) } }
        func integer<T: FixedWidthInteger>(_: T.Type) throws -> T {
            let fitted: T?
            switch self {
            case .uint(let v): fitted = T(exactly: v)
            case .int(let v): fitted = T(exactly: v)
            default: fitted = nil
            }
            guard let fitted else {
                throw SpQRError(.invalidSetting, "GGUF metadata \(key): \(self) cannot be stored as \(type)")
            }
            return fitted
        }
        func mismatch() -> SpQRError {
            SpQRError(.invalidSetting, "GGUF metadata \(key): \(self) cannot be stored as \(type)")
        }
        switch type {
        case .uint8: put(try integer(UInt8.self))
        case .int8: put(try integer(Int8.self))
        case .uint16: put(try integer(UInt16.self))
        case .int16: put(try integer(Int16.self))
        case .uint32: put(try integer(UInt32.self))
        case .int32: put(try integer(Int32.self))
        case .uint64: put(try integer(UInt64.self))
        case .int64: put(try integer(Int64.self))
        case .float32, .float64:
            guard case .float(let v) = self else { throw mismatch() }
            if type == .float32 { put(Float(v).bitPattern) } else { put(v.bitPattern) }
        case .bool:
            guard case .bool(let v) = self else { throw mismatch() }
            out.append(v ? 1 : 0)
        case .string:
            guard case .string(let v) = self else { throw mismatch() }
            Self.encode(string: v, into: &out)
        case .array:
            guard case .array(let a) = self else { throw mismatch() }
            put(a.elementType.rawValue)
            put(UInt64(a.count))
            out.append(contentsOf: a.bytes)
        }
    }

    /// Appends a GGUF string: a u64 byte count and the UTF-8 bytes, no terminator (keys and tensor names too).
    public static func encode(string: String, into out: inout [UInt8]) {
        withUnsafeBytes(of: UInt64(string.utf8.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(contentsOf: string.utf8)
    }
}

/// A metadata array, kept as its bytes (copied from the file) and decoded on demand.
public struct GGUFArray: Sendable, Equatable {
    /// The type of every element (never `.array`: arrays do not nest).
    public let elementType: GGUFValueType
    /// Number of elements.
    public let count: Int
    /// The elements' bytes (for strings, each is a u64 length and its bytes).
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
                    out.append(
                        .string(
                            String(
                                decoding: UnsafeRawBufferPointer(rebasing: raw[(at + 8)..<(at + 8 + n)]), as: UTF8.self)
                        ))
                    at += 8 + n
                }
            }
            return out
        }
    }

    /// Element `i`: constant time for fixed-size types, a walk over the strings before it otherwise.
    public subscript(i: Int) -> GGUFValue {
        precondition(i >= 0 && i < count, "GGUFArray index \(i) out of 0..<\(count)")
        if let size = elementType.fixedSize {
            return bytes.withUnsafeBytes { GGUFArray.decode(elementType, $0, i * size) }
        }
        return bytes.withUnsafeBytes { raw in
            var at = 0
            for _ in 0..<i {
                at += 8 + Int(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
            }
            let n = Int(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)))
            return .string(
                String(decoding: UnsafeRawBufferPointer(rebasing: raw[(at + 8)..<(at + 8 + n)]), as: UTF8.self))
        }
    }

    /// The elements as strings, if they are strings.
    public var strings: [String]? {
        guard elementType == .string else { return nil }
        return values.compactMap(\.stringValue)
    }

    static func decode(_ type: GGUFValueType, _ raw: UnsafeRawBufferPointer, _ at: Int) -> GGUFValue {
        func load<T: FixedWidthInteger>(_: T.Type) -> T {
            T(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: T.self))
        }
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

/// The GGUF value encoding over a `ByteReader`.
extension ByteReader {
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
            guard elementType != .array else {
                throw SpQRError(.fileFormat, "\(path): metadata \(key) nests arrays, which GGUF readers do not accept")
            }
            let n = try count("element count of metadata \(key)", minimumBytesEach: elementType.fixedSize ?? 8)
            let start = offset
            if let size = elementType.fixedSize {
                try skip(n * size, what: "metadata \(key)")
            } else {
                for i in 0..<n { _ = try stringBytes("element \(i) of metadata \(key)") }
            }
            return .array(
                GGUFArray(
                    elementType: elementType, count: n,
                    bytes: try file.data(at: start, count: offset - start, what: "metadata \(key)")))
        default:
            let size = type.fixedSize!
            guard size <= remaining else { throw fail("metadata \(key)", size) }
            return try bytes(size, what: "metadata \(key)").withUnsafeBytes { GGUFArray.decode(type, $0, 0) }
        }
    }
}
