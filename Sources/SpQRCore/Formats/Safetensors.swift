// The safetensors container (Hugging Face): an 8-byte little-endian header length N, N bytes of UTF-8 JSON
// mapping tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the data section
// that follows the header), an optional "__metadata__" string map, then the raw little-endian data.
// Source: https://github.com/huggingface/safetensors (format description in its README).
//
// Files are memory-mapped; only the tensors asked for are read and converted.

import Foundation

/// Element types of safetensors tensors (the reference's `Dtype`, including its sub-byte float types).
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case F64, F32, F16, BF16, I64, I32, I16, I8, U64, U32, U16, U8, BOOL, C64
    case F8_E4M3, F8_E5M2, F8_E8M0, F6_E2M3, F6_E3M2, F4

    /// Bits per element.
    public var bits: Int {
        switch self {
        case .F64, .I64, .U64, .C64: return 64
        case .F32, .I32, .U32: return 32
        case .F16, .BF16, .I16, .U16: return 16
        case .I8, .U8, .BOOL, .F8_E4M3, .F8_E5M2, .F8_E8M0: return 8
        case .F6_E2M3, .F6_E3M2: return 6
        case .F4: return 4
        }
    }

    /// Bytes per element, for the types that take whole bytes (sub-byte types report 0).
    public var size: Int { bits % 8 == 0 ? bits / 8 : 0 }

    /// Whether tensors of this type can be converted to Float for quantization.
    public var isFloat: Bool { self == .F64 || self == .F32 || self == .F16 || self == .BF16 }

    /// Bytes taken by `count` elements, or nil when that is not a whole number of bytes or overflows.
    public func byteCount(elements count: Int) -> Int? {
        let (b, overflow) = count.multipliedReportingOverflow(by: bits)
        guard !overflow, b % 8 == 0 else { return nil }
        return b / 8
    }
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

    /// Product of the dimensions (checked against overflow when the header was read).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped safetensors file.
///
/// Opening reads and validates only the header: its length (at least 8 bytes of file, at most
/// `maxHeaderBytes`, within the file), UTF-8 JSON object, every entry's dtype, shape (non-negative
/// integers whose product does not overflow) and `data_offsets` (inside the data section, matching
/// element count × dtype size for known dtypes, not overlapping another tensor). Tensor data is read
/// from the map only when asked for, so listing a 100 GB checkpoint touches a few kilobytes.
public final class SafetensorsFile: @unchecked Sendable {
    /// The path it was opened from.
    public let path: String
    /// Tensors in the order of their data offsets.
    public let tensors: [SafetensorsTensorInfo]
    /// The "__metadata__" map.
    public let metadata: [String: String]
    private let index: [String: Int]
    private let data: Data
    private let dataStart: Int

    /// Largest header accepted (the reference implementation's limit is 100 MB).
    public static let maxHeaderBytes = 100_000_000

    /// Opens and validates the header of a safetensors file.
    public init(path: String) throws {
        self.path = path
        func fail(_ m: String) -> SpQRError { SpQRError(.fileFormat, "\(path): \(m)") }
        let data = try MappedFile.map(path)
        guard data.count >= 8 else { throw fail("file is \(data.count) bytes, too short for a safetensors header (needs at least 8)") }
        let headerLength = data.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard headerLength <= UInt64(Self.maxHeaderBytes) else {
            throw fail("header length \(headerLength) bytes exceeds the \(Self.maxHeaderBytes)-byte limit; not a safetensors file?")
        }
        guard headerLength <= UInt64(data.count - 8) else {
            throw fail("header length \(headerLength) runs past the end of the \(data.count)-byte file (truncated?)")
        }
        let headerBytes = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw fail("header is not valid UTF-8") }
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
        tensors.reserveCapacity(object.count)
        for (name, value) in object {
            if name == "__metadata__" {
                guard let m = value as? [String: Any] else { throw fail("__metadata__ is not an object of strings") }
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
                guard let bytes = dtype.byteCount(elements: count) else {
                    throw fail("tensor \"\(name)\": shape \(shape) of \(dtypeName) is not a whole number of bytes or overflows")
                }
                guard bytes == e - b else {
                    throw fail("tensor \"\(name)\": \(e - b) bytes for shape \(shape) of \(dtypeName) (expected \(bytes))")
                }
            }
            tensors.append(SafetensorsTensorInfo(name: name, dtypeName: dtypeName, dtype: dtype, shape: shape, begin: b, end: e))
        }
        tensors.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        // Sorted by start, a tensor overlaps an earlier one exactly when it starts before the furthest end
        // seen so far (empty tensors occupy nothing).
        var furthest: SafetensorsTensorInfo?
        for t in tensors where t.end > t.begin {
            if let f = furthest, t.begin < f.end { throw fail("tensors \"\(f.name)\" and \"\(t.name)\" overlap in the data section") }
            if t.end > (furthest?.end ?? 0) { furthest = t }
        }
        self.data = data
        self.dataStart = dataStart
        self.tensors = tensors
        self.metadata = metadata
        self.index = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    /// The entry named `name`.
    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        guard let i = index[name] else {
            let names = tensors.prefix(8).map(\.name).joined(separator: ", ")
            throw SpQRError(.fileFormat, "\(path): no tensor named \"\(name)\" (it has \(tensors.count): \(names)\(tensors.count > 8 ? ", …" : ""))")
        }
        return tensors[i]
    }

    /// Whether the file holds a tensor named `name`.
    public func contains(_ name: String) -> Bool { index[name] != nil }

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
            throw SpQRError(.unsupported, "\(path): tensor \"\(name)\" has dtype \(t.dtypeName); only F32, F16, BF16 and F64 can be converted to Float")
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

    /// An integer tensor (I64, I32, I8, U8, BOOL) as Int.
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

/// The product of non-negative dimensions, or nil when one is negative or the product overflows.
func checkedProduct(_ dims: [Int]) -> Int? {
    var p = 1
    for d in dims {
        guard d >= 0 else { return nil }
        let (q, overflow) = p.multipliedReportingOverflow(by: d)
        if overflow { return nil }
        p = q
    }
    return p
}

/// Read-only memory maps of whole files.
enum MappedFile {
    /// The file's bytes, mapped (not read): pages are loaded only when touched.
    static func map(_ path: String) throws -> Data {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw SpQRError(.io, "\(path): is a directory, not a file")
        }
        do {
            return try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
        } catch {
            throw SpQRError(.io, "\(path): cannot open (\((error as NSError).localizedDescription)); check the path and permissions")
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
    /// Converts `raw` holding elements of `dtype` (F64, F32, F16 or BF16; other types give an empty array).
    public static func toFloat(_ raw: UnsafeRawBufferPointer, dtype: SafetensorsDType) -> [Float] {
        guard dtype.isFloat else { return [] }
        let count = raw.count / dtype.size
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            convert(raw, dtype: dtype, count: count, into: out.baseAddress!)
            initialized = count
        }
    }

    /// Converts the first `count` elements of `raw` into `out`.
    static func convert(_ raw: UnsafeRawBufferPointer, dtype: SafetensorsDType, count: Int, into out: UnsafeMutablePointer<Float>) {
        guard count > 0, let base = raw.baseAddress else { return }
        switch dtype {
        case .F32:
            #if _endian(little)
            UnsafeMutableRawPointer(out).copyMemory(from: base, byteCount: 4 * count)
            #else
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))) }
            #endif
        case .F16:
            for i in 0..<count { out[i] = Float(Float16(bitPattern: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))) }
        case .BF16:
            for i in 0..<count { out[i] = Float(bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16) }
        case .F64:
            for i in 0..<count { out[i] = Float(Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))) }
        default:
            preconditionFailure("FloatConversion.convert called with \(dtype)")
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
        var out = try header(tensors.map { ($0.name, $0.dtype, $0.shape, $0.bytes.count) }, metadata: metadata)
        out.reserveCapacity(out.count + tensors.reduce(0) { $0 + $1.bytes.count })
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
        if failure == nil {
            // Make the rename itself durable; a directory that cannot be opened only loses that guarantee.
            let dirfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY)
            if dirfd >= 0 {
                _ = fsync(dirfd)
                close(dirfd)
            }
        }
        if let failure {
            unlink(tmp)
            throw SpQRError(.io, "\(path): could not write (\(failure)); the previous file, if any, is unchanged")
        }
    }
}
