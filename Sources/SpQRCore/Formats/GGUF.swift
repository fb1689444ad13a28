// GGUF (llama.cpp / ggml), versions 2 and 3, little-endian:
//
//   "GGUF" u32 version, u64 tensor_count, u64 kv_count
//   kv_count × { string key, u32 type, value }          string = u64 length + UTF-8 bytes
//     types 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 8 string, 9 array (u32 type, u64 n, n values),
//           10 u64, 11 i64, 12 f64
//   tensor_count × { string name, u32 n_dims, n_dims × u64 ne, u32 ggml_type, u64 offset }
//   padding to `general.alignment` (default 32), then the data section; offsets are relative to it.
//
// ne[0] is the fastest-varying dimension, so a 2-D weight with ne = [in, out] is the row-major matrix
// [out, in]. Source: ggml/docs/gguf.md in the llama.cpp repository. Every length and count read from the
// file is checked against the bytes that remain before it is used, and nothing is read outside the map.

import Foundation

/// A metadata value of a GGUF file.
public indirect enum GGUFValue: Sendable, Equatable {
    case uint(UInt64), int(Int64), float(Double), bool(Bool), string(String), array([GGUFValue])

    /// The value as an integer, if it is one.
    public var intValue: Int? {
        switch self {
        case .uint(let v): return v <= UInt64(Int.max) ? Int(v) : nil
        case .int(let v): return Int(v)
        default: return nil
        }
    }

    /// The value as a string, if it is one.
    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
}

/// One tensor of a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public let name: String
    /// ggml order: ne[0] varies fastest.
    public let dimensions: [Int]
    public let type: GGMLType
    /// Offset within the data section.
    public let offset: Int
    /// Bytes the tensor occupies.
    public let byteCount: Int

    /// Element count.
    public var elementCount: Int { dimensions.reduce(1, *) }
    /// [out, in] for a 2-D tensor (the reverse of ggml order).
    public var shape: [Int] { dimensions.reversed() }
}

/// A memory-mapped GGUF file.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: Int
    public let metadata: [String: GGUFValue]
    public let tensors: [GGUFTensorInfo]
    public let alignment: Int
    private let data: Data
    private let dataStart: Int

    /// Opens and validates a GGUF file (header, metadata, tensor table); tensor data is read on demand.
    public init(path: String) throws {
        self.path = path
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw SpQRError(.io, "\(path): cannot open (\((error as NSError).localizedDescription)); check the path and permissions")
        }
        var r = ByteReader(data: data, path: path)
        let magic = try r.bytes(4, what: "magic")
        guard magic == Array("GGUF".utf8) else {
            throw SpQRError(.fileFormat, "\(path): not a GGUF file (magic \(magic.map { String(format: "%02x", $0) }.joined()) instead of 47475546 \"GGUF\")")
        }
        let version = Int(try r.u32("version"))
        guard version == 2 || version == 3 else {
            throw SpQRError(.fileFormat, "\(path): GGUF version \(version) is not supported (versions 2 and 3 are)")
        }
        let tensorCount = try r.count("tensor count", minimumBytesEach: 8 + 4 + 8 + 4 + 8)
        let kvCount = try r.count("metadata count", minimumBytesEach: 8 + 4 + 1)
        var metadata: [String: GGUFValue] = [:]
        for _ in 0..<kvCount {
            let key = try r.string("metadata key")
            let type = try r.u32("type of \(key)")
            metadata[key] = try r.value(type: type, key: key, depth: 0)
        }
        let alignment = metadata["general.alignment"]?.intValue ?? 32
        guard alignment > 0, alignment & (alignment - 1) == 0, alignment <= 1 << 20 else {
            throw SpQRError(.fileFormat, "\(path): general.alignment \(alignment) must be a power of two (default 32)")
        }
        var infos: [(String, [Int], UInt32, Int)] = []
        for i in 0..<tensorCount {
            let name = try r.string("tensor \(i) name")
            let nDims = Int(try r.u32("dimension count of \(name)"))
            guard (1...4).contains(nDims) else { throw SpQRError(.fileFormat, "\(path): tensor \"\(name)\" has \(nDims) dimensions (1 to 4 allowed)") }
            var dims: [Int] = []
            for _ in 0..<nDims {
                let d = try r.u64("dimension of \(name)")
                guard d <= UInt64(Int32.max) * 64 else { throw SpQRError(.fileFormat, "\(path): tensor \"\(name)\" has an absurd dimension \(d)") }
                dims.append(Int(d))
            }
            let type = try r.u32("type of \(name)")
            let offset = try r.u64("offset of \(name)")
            guard offset <= UInt64(data.count) else { throw SpQRError(.fileFormat, "\(path): tensor \"\(name)\" offset \(offset) is past the end of the file") }
            infos.append((name, dims, type, Int(offset)))
        }
        let dataStart = (r.offset + alignment - 1) / alignment * alignment
        let dataLength = data.count - min(dataStart, data.count)
        var tensors: [GGUFTensorInfo] = []
        for (name, dims, typeID, offset) in infos {
            guard let type = GGMLType(rawValue: typeID) else {
                throw SpQRError(.fileFormat, "\(path): tensor \"\(name)\" has unknown ggml type \(typeID)")
            }
            var count = 1
            for d in dims {
                let (p, o) = count.multipliedReportingOverflow(by: d)
                guard !o else { throw SpQRError(.fileFormat, "\(path): tensor \"\(name)\" dimensions \(dims) overflow the element count") }
                count = p
            }
            guard dims[0] % type.blockSize == 0 else {
                throw SpQRError(.fileFormat, "\(path): tensor \"\(name)\" of type \(type) has rows of \(dims[0]) elements, not a multiple of its block of \(type.blockSize)")
            }
            let (bytes, o) = (count / type.blockSize).multipliedReportingOverflow(by: type.bytesPerBlock)
            guard !o, offset % alignment == 0, offset <= dataLength, bytes <= dataLength - offset else {
                throw SpQRError(.fileFormat, "\(path): tensor \"\(name)\" (\(bytes) bytes at offset \(offset)) does not fit the \(dataLength)-byte data section or is misaligned")
            }
            tensors.append(GGUFTensorInfo(name: name, dimensions: dims, type: type, offset: offset, byteCount: bytes))
        }
        self.version = version
        self.metadata = metadata
        self.alignment = alignment
        self.tensors = tensors
        self.data = data
        self.dataStart = dataStart
    }

    /// The entry named `name`.
    public func info(_ name: String) throws -> GGUFTensorInfo {
        guard let t = tensors.first(where: { $0.name == name }) else {
            throw SpQRError(.fileFormat, "\(path): no tensor named \"\(name)\"")
        }
        return t
    }

    /// A tensor dequantized to Float, in row-major order of `shape`.
    public func floats(_ name: String) throws -> [Float] {
        let t = try info(name)
        guard t.type.isSupported else {
            throw SpQRError(.unsupported, "\(path): tensor \"\(name)\" has type \(t.type), which cannot be dequantized here "
                + "(F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K and Q6_K can)")
        }
        return data.withUnsafeBytes { raw in
            GGMLDequantize.toFloat(UnsafeRawBufferPointer(rebasing: raw[(dataStart + t.offset)..<(dataStart + t.offset + t.byteCount)]),
                                   type: t.type, count: t.elementCount)
        }
    }
}

/// Bounds-checked little-endian reads over a file's bytes.
struct ByteReader {
    let data: Data
    let path: String
    var offset = 0

    func fail(_ what: String, _ need: Int) -> SpQRError {
        SpQRError(.fileFormat, "\(path): truncated: \(what) needs \(need) bytes at offset \(offset), the file has \(data.count)")
    }

    mutating func bytes(_ n: Int, what: String) throws -> [UInt8] {
        guard n >= 0, n <= data.count - offset else { throw fail(what, n) }
        defer { offset += n }
        return [UInt8](data[(data.startIndex + offset)..<(data.startIndex + offset + n)])
    }

    mutating func load<T: FixedWidthInteger>(_ what: String, as: T.Type) throws -> T {
        let n = MemoryLayout<T>.size
        guard n <= data.count - offset else { throw fail(what, n) }
        defer { offset += n }
        return data.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: T.self)) }
    }

    mutating func u32(_ what: String) throws -> UInt32 { try load(what, as: UInt32.self) }
    mutating func u64(_ what: String) throws -> UInt64 { try load(what, as: UInt64.self) }

    /// A count that must be satisfiable by the remaining bytes, `minimumBytesEach` per item.
    mutating func count(_ what: String, minimumBytesEach: Int) throws -> Int {
        let c = try u64(what)
        guard c <= UInt64(max(0, data.count - offset) / max(minimumBytesEach, 1)) else {
            throw SpQRError(.fileFormat, "\(path): \(what) \(c) cannot fit in the \(data.count - offset) bytes that remain")
        }
        return Int(c)
    }

    mutating func string(_ what: String) throws -> String {
        let n = try u64("length of \(what)")
        guard n <= UInt64(data.count - offset) else {
            throw SpQRError(.fileFormat, "\(path): \(what) claims \(n) bytes at offset \(offset), past the end of the \(data.count)-byte file")
        }
        let b = try bytes(Int(n), what: what)
        guard let s = String(validating: b, as: UTF8.self) else { throw SpQRError(.fileFormat, "\(path): \(what) is not valid UTF-8") }
        return s
    }

    mutating func value(type: UInt32, key: String, depth: Int) throws -> GGUFValue {
        switch type {
        case 0: return .uint(UInt64(try load(key, as: UInt8.self)))
        case 1: return .int(Int64(try load(key, as: Int8.self)))
        case 2: return .uint(UInt64(try load(key, as: UInt16.self)))
        case 3: return .int(Int64(try load(key, as: Int16.self)))
        case 4: return .uint(UInt64(try load(key, as: UInt32.self)))
        case 5: return .int(Int64(try load(key, as: Int32.self)))
        case 6: return .float(Double(Float(bitPattern: try load(key, as: UInt32.self))))
        case 7: return .bool(try load(key, as: UInt8.self) != 0)
        case 8: return .string(try string(key))
        case 9:
            guard depth < 4 else { throw SpQRError(.fileFormat, "\(path): metadata \(key) nests arrays more than 4 deep") }
            let elementType = try u32("element type of \(key)")
            let n = try count("element count of \(key)", minimumBytesEach: 1)
            var out: [GGUFValue] = []
            out.reserveCapacity(min(n, 1 << 20))
            for _ in 0..<n { out.append(try value(type: elementType, key: key, depth: depth + 1)) }
            return .array(out)
        case 10: return .uint(try u64(key))
        case 11: return .int(Int64(bitPattern: try u64(key)))
        case 12: return .float(Double(bitPattern: try u64(key)))
        default: throw SpQRError(.fileFormat, "\(path): metadata \(key) has unknown value type \(type)")
        }
    }
}
