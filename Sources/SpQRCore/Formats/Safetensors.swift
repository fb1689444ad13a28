// The safetensors container (Hugging Face): an 8-byte little-endian header length N, N bytes of UTF-8 JSON
// mapping tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the data section
// that follows the header), an optional "__metadata__" string map, then the raw little-endian data.
// Source: https://github.com/huggingface/safetensors (format description in its README).
//
// Files are memory-mapped; only the tensors asked for are read and converted.

import Foundation

/// Element types of safetensors tensors.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL
    case F8_E4M3 = "F8_E4M3", F8_E5M2 = "F8_E5M2"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .F64, .I64, .U64: return 8
        case .F32, .I32, .U32: return 4
        case .F16, .BF16, .I16, .U16: return 2
        case .I8, .U8, .BOOL, .F8_E4M3, .F8_E5M2: return 1
        }
    }

    /// Whether tensors of this type can be converted to Float for quantization.
    public var isFloat: Bool { self == .F64 || self == .F32 || self == .F16 || self == .BF16 }

    /// Bits per element.
    public var bits: Int { size * 8 }
}

/// One tensor entry of a safetensors header.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    /// The dtype string as written in the file.
    public let dtypeName: String
    /// The dtype, when known.
    public let dtype: SafetensorsDType?
    public let shape: [Int]
    /// Byte range within the data section.
    public let begin: Int
    public let end: Int

    /// Product of the dimensions.
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped safetensors file.
public final class SafetensorsFile: @unchecked Sendable {
    /// The path it was opened from.
    public let path: String
    /// Tensors in header order of their data offsets.
    public let tensors: [SafetensorsTensorInfo]
    /// The "__metadata__" map.
    public let metadata: [String: String]
    private let data: Data
    private let dataStart: Int

    /// Largest header accepted (the reference implementation's limit is 100 MB).
    public static let maxHeaderBytes = 100_000_000

    /// Opens and validates the header of a safetensors file.
    public init(path: String) throws {
        self.path = path
        func fail(_ m: String) -> SpQRError { SpQRError(.fileFormat, "\(path): \(m)") }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw SpQRError(.io, "\(path): cannot open (\((error as NSError).localizedDescription)); check the path and permissions")
        }
        guard data.count >= 8 else { throw fail("file is \(data.count) bytes, too short for a safetensors header (needs at least 8)") }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(Self.maxHeaderBytes) else {
            throw fail("header length \(headerLength) bytes exceeds the \(Self.maxHeaderBytes)-byte limit; not a safetensors file?")
        }
        guard headerLength <= UInt64(data.count - 8) else {
            throw fail("header length \(headerLength) runs past the end of the \(data.count)-byte file (truncated?)")
        }
        let headerBytes = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard String(data: headerBytes, encoding: .utf8) != nil else { throw fail("header is not valid UTF-8") }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerBytes)
        } catch {
            throw fail("header is not valid JSON (\((error as NSError).localizedDescription))")
        }
        guard let object = json as? [String: Any] else { throw fail("header is not a JSON object") }
        let dataStart = 8 + Int(headerLength)
        let dataLength = data.count - dataStart
        var metadata: [String: String] = [:]
        var tensors: [SafetensorsTensorInfo] = []
        for (name, value) in object {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw fail("__metadata__[\"\(k)\"] is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let entry = value as? [String: Any] else { throw fail("tensor \"\(name)\": entry is not an object") }
            guard let dtypeName = entry["dtype"] as? String else { throw fail("tensor \"\(name)\": missing or non-string dtype") }
            guard let shapeAny = entry["shape"] as? [Any] else { throw fail("tensor \"\(name)\": missing shape") }
            var shape: [Int] = []
            var count = 1
            for d in shapeAny {
                guard let v = JSONValue.integer(d), v >= 0 else {
                    throw fail("tensor \"\(name)\": shape \(shapeAny) must hold non-negative integers")
                }
                let (p, overflow) = count.multipliedReportingOverflow(by: v)
                guard !overflow else { throw fail("tensor \"\(name)\": shape \(shape + [v]) overflows the element count") }
                count = p
                shape.append(v)
            }
            guard let offs = entry["data_offsets"] as? [Any], offs.count == 2,
                  let b = JSONValue.integer(offs[0]), let e = JSONValue.integer(offs[1]) else {
                throw fail("tensor \"\(name)\": data_offsets must be two integers")
            }
            guard 0 <= b, b <= e, e <= dataLength else {
                throw fail("tensor \"\(name)\": data_offsets [\(b), \(e)] lie outside the \(dataLength)-byte data section")
            }
            let dtype = SafetensorsDType(rawValue: dtypeName)
            if let dtype {
                let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.size)
                guard !overflow, bytes == e - b else {
                    throw fail("tensor \"\(name)\": \(e - b) bytes for shape \(shape) of \(dtypeName) (expected \(overflow ? "an overflowing count" : String(bytes)))")
                }
            }
            tensors.append(SafetensorsTensorInfo(name: name, dtypeName: dtypeName, dtype: dtype, shape: shape, begin: b, end: e))
        }
        tensors.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        for (a, b) in zip(tensors, tensors.dropFirst()) where b.begin < a.end && a.end > a.begin && b.end > b.begin {
            throw fail("tensors \"\(a.name)\" and \"\(b.name)\" overlap in the data section")
        }
        self.data = data
        self.dataStart = dataStart
        self.tensors = tensors
        self.metadata = metadata
    }

    /// The entry named `name`.
    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        guard let t = tensors.first(where: { $0.name == name }) else {
            let names = tensors.prefix(8).map(\.name).joined(separator: ", ")
            throw SpQRError(.fileFormat, "\(path): no tensor named \"\(name)\" (it has \(tensors.count): \(names)\(tensors.count > 8 ? ", …" : ""))")
        }
        return t
    }

    /// The raw bytes of a tensor.
    public func withBytes<R>(_ t: SafetensorsTensorInfo, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try data.withUnsafeBytes { raw in
            try body(UnsafeRawBufferPointer(rebasing: raw[(dataStart + t.begin)..<(dataStart + t.end)]))
        }
    }

    /// A floating-point tensor converted to Float (F64, F32, F16, BF16).
    public func floats(_ name: String) throws -> [Float] {
        let t = try info(name)
        guard let dtype = t.dtype, dtype.isFloat else {
            throw SpQRError(.unsupported, "\(path): tensor \"\(name)\" has dtype \(t.dtypeName); only F32, F16, BF16 and F64 can be quantized")
        }
        return withBytes(t) { FloatConversion.toFloat($0, dtype: dtype) }
    }

    /// A 2-D floating-point tensor as a matrix.
    public func matrix(_ name: String) throws -> Matrix {
        let t = try info(name)
        guard t.shape.count == 2 else {
            throw SpQRError(.shapeMismatch, "\(path): tensor \"\(name)\" has shape \(t.shape); a 2-D [rows, cols] matrix is needed")
        }
        return Matrix(rows: t.shape[0], cols: t.shape[1], values: try floats(name))
    }

    /// An integer tensor (I64, I32, U8, …) as Int.
    public func integers(_ name: String) throws -> [Int] {
        let t = try info(name)
        return try withBytes(t) { raw -> [Int] in
            switch t.dtype {
            case .I64?: return (0..<t.elementCount).map { Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self))) }
            case .I32?: return (0..<t.elementCount).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
            case .U8?, .BOOL?: return raw.map { Int($0) }
            case .I8?: return raw.map { Int(Int8(bitPattern: $0)) }
            default:
                throw SpQRError(.unsupported, "\(path): tensor \"\(name)\" has dtype \(t.dtypeName), not an integer type")
            }
        }
    }
}

/// Reading values out of `JSONSerialization` results.
enum JSONValue {
    /// An exact integer (not a boolean, not a fraction).
    static func integer(_ x: Any) -> Int? {
        guard let n = x as? NSNumber, String(cString: n.objCType) != "c" else { return nil }
        return x as? Int
    }
}

/// Conversion of little-endian float encodings to Float, without per-element allocation.
public enum FloatConversion {
    /// Converts `raw` holding elements of `dtype` (F64, F32, F16 or BF16).
    public static func toFloat(_ raw: UnsafeRawBufferPointer, dtype: SafetensorsDType) -> [Float] {
        let count = raw.count / dtype.size
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            switch dtype {
            case .F32:
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            case .F16:
                for i in 0..<count { out[i] = Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
            case .BF16:
                for i in 0..<count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
            case .F64:
                for i in 0..<count { out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
            default:
                for i in 0..<count { out[i] = .nan }
            }
            initialized = count
        }
    }
}

/// Writes safetensors files atomically (temporary file in the same directory, then rename).
public enum SafetensorsWriter {
    /// A tensor to write: name, dtype, shape and its little-endian bytes.
    public struct Tensor {
        public let name: String
        public let dtype: SafetensorsDType
        public let shape: [Int]
        public let bytes: Data

        public init(name: String, dtype: SafetensorsDType, shape: [Int], bytes: Data) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
            self.bytes = bytes
        }

        /// An F32 tensor.
        public static func f32(_ name: String, shape: [Int], _ values: [Float]) -> Tensor {
            Tensor(name: name, dtype: .F32, shape: shape, bytes: values.withUnsafeBufferPointer { Data(buffer: $0) })
        }

        /// A U8 tensor.
        public static func u8(_ name: String, shape: [Int], _ values: [UInt8]) -> Tensor {
            Tensor(name: name, dtype: .U8, shape: shape, bytes: Data(values))
        }

        /// An I64 tensor.
        public static func i64(_ name: String, shape: [Int], _ values: [Int]) -> Tensor {
            let v = values.map { Int64($0).littleEndian }
            return Tensor(name: name, dtype: .I64, shape: shape, bytes: v.withUnsafeBufferPointer { Data(buffer: $0) })
        }
    }

    /// The complete file contents.
    public static func encode(_ tensors: [Tensor], metadata: [String: String] = [:]) throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for t in tensors {
            header[t.name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + t.bytes.count]]
            offset += t.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + json.count) % 8 != 0 { json.append(0x20) }
        var out = Data()
        out.reserveCapacity(8 + json.count + offset)
        var len = UInt64(json.count).littleEndian
        withUnsafeBytes(of: &len) { out.append(contentsOf: $0) }
        out.append(json)
        for t in tensors { out.append(t.bytes) }
        return out
    }

    /// Writes the file atomically; on failure nothing is left behind and an existing file is untouched.
    public static func write(_ tensors: [Tensor], metadata: [String: String] = [:], to path: String) throws {
        try AtomicFile.write(try encode(tensors, metadata: metadata), to: path)
    }
}

/// Atomic file replacement: write a temporary file beside the target, flush it, rename it over.
public enum AtomicFile {
    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw SpQRError(.io, "\(path): cannot create a file in \(dir) (\(String(cString: strerror(errno)))); choose a writable directory")
        }
        var failure: String?
        data.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = String(cString: strerror(errno))
                    return
                }
                done += n
            }
        }
        if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        if close(fd) != 0 && failure == nil { failure = String(cString: strerror(errno)) }
        if failure == nil && rename(tmp, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            unlink(tmp)
            throw SpQRError(.io, "\(path): could not write (\(failure)); the previous file, if any, is unchanged")
        }
    }
}
