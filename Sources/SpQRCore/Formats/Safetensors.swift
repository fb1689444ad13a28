// The safetensors container (Hugging Face): an 8-byte little-endian header length N, N bytes of UTF-8 JSON
// mapping tensor names to {dtype, shape, data_offsets: [begin, end]} (offsets relative to the data section
// that follows the header), an optional "__metadata__" string map, then the raw little-endian data.
// Source: https://github.com/huggingface/safetensors (format description in its README).
//
// Only the header is read when a file is opened; tensors are read with pread (`FileBytes`, never a
// memory map, so a file truncated while open gives an error, not SIGBUS) when asked for, after the
// memory guard (`MemoryBudget`) has checked that their Float copy fits.

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

/// A safetensors file, read on demand.
///
/// Opening reads and validates only the header: its length (at least 8 bytes of file, at most
/// `maxHeaderBytes`, within the file), UTF-8 JSON object, every entry's dtype, shape (non-negative
/// integers whose product does not overflow) and `data_offsets` (inside the data section, matching
/// element count × dtype size for known dtypes, not overlapping another tensor). Tensor data is read
/// only when asked for, so listing a 100 GB checkpoint reads a few kilobytes.
public final class SafetensorsFile: @unchecked Sendable {
    /// The path it was opened from.
    public let path: String
    /// Tensors in the order of their data offsets.
    public let tensors: [SafetensorsTensorInfo]
    /// The "__metadata__" map.
    public let metadata: [String: String]
    private let index: [String: Int]
    /// The open file.
    let bytes: FileBytes
    private let dataStart: Int

    /// Largest header accepted (the reference implementation's limit is 100 MB).
    public static let maxHeaderBytes = 100_000_000

    /// Opens and validates the header of a safetensors file.
    public init(path: String) throws {
        self.path = path
        func fail(_ m: String) -> SpQRError { SpQRError(.fileFormat, "\(path): \(m)") }
        let file = try FileBytes(path: path)
        guard file.size >= 8 else {
            throw fail("file is \(file.size) bytes, too short for a safetensors header (needs at least 8)")
        }
        let headerLength = try file.bytes(at: 0, count: 8, what: "header length").withUnsafeBytes {
            UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self))
        }
        guard headerLength <= UInt64(Self.maxHeaderBytes) else {
            throw fail(
                "header length \(headerLength) bytes exceeds the \(Self.maxHeaderBytes)-byte limit; not a safetensors file?"
            )
        }
        guard headerLength <= UInt64(file.size - 8) else {
            throw fail("header length \(headerLength) runs past the end of the \(file.size)-byte file (truncated?)")
        }
        let headerBytes = try file.data(at: 8, count: Int(headerLength), what: "header")
        guard String(validating: headerBytes, as: UTF8.self) != nil else { throw fail("header is not valid UTF-8") }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerBytes)
        } catch {
            throw fail("header is not valid JSON (\((error as NSError).localizedDescription))")
        }
        guard let object = json as? [String: Any] else { throw fail("header is not a JSON object") }
        let dataStart = 8 + Int(headerLength)
        let dataLength = file.size - dataStart
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
            guard let dtypeName = entry["dtype"] as? String else {
                throw fail("tensor \"\(name)\": missing or non-string dtype")
            }
            guard let shapeAny = entry["shape"] as? [Any] else { throw fail("tensor \"\(name)\": missing shape") }
            var shape: [Int] = []
            var count = 1
            for d in shapeAny {
                guard let v = JSONValue.integer(d), v >= 0 else {
                    throw fail("tensor \"\(name)\": shape \(shapeAny) must hold non-negative integers")
                }
                let (p, overflow) = count.multipliedReportingOverflow(by: v)
                guard !overflow else {
                    throw fail("tensor \"\(name)\": shape \(shape + [v]) overflows the element count")
                }
                count = p
                shape.append(v)
            }
            guard let offs = entry["data_offsets"] as? [Any], offs.count == 2,
                let b = JSONValue.integer(offs[0]), let e = JSONValue.integer(offs[1])
            else {
                throw fail("tensor \"\(name)\": data_offsets must be two integers")
            }
            guard 0 <= b, b <= e, e <= dataLength else {
                throw fail(
                    "tensor \"\(name)\": data_offsets [\(b), \(e)] lie outside the \(dataLength)-byte data section")
            }
            let dtype = SafetensorsDType(rawValue: dtypeName)
            if let dtype {
                guard let bytes = dtype.byteCount(elements: count) else {
                    throw fail(
                        "tensor \"\(name)\": shape \(shape) of \(dtypeName) is not a whole number of bytes or overflows"
                    )
                }
                guard bytes == e - b else {
                    throw fail(
                        "tensor \"\(name)\": \(e - b) bytes for shape \(shape) of \(dtypeName) (expected \(bytes))")
                }
            }
            tensors.append(
                SafetensorsTensorInfo(name: name, dtypeName: dtypeName, dtype: dtype, shape: shape, begin: b, end: e))
        }
        tensors.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        // Sorted by start, a tensor overlaps an earlier one exactly when it starts before the furthest end
        // seen so far (empty tensors occupy nothing).
        var furthest: SafetensorsTensorInfo?
        for t in tensors where t.end > t.begin {
            if let f = furthest, t.begin < f.end {
                throw fail("tensors \"\(f.name)\" and \"\(t.name)\" overlap in the data section")
            }
            if t.end > (furthest?.end ?? 0) { furthest = t }
        }
        self.bytes = file
        self.dataStart = dataStart
        self.tensors = tensors
        self.metadata = metadata
        self.index = Dictionary(uniqueKeysWithValues: tensors.enumerated().map { ($1.name, $0) })
    }

    /// The entry named `name`.
    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        guard let i = index[name] else {
            let names = tensors.prefix(8).map(\.name).joined(separator: ", ")
            throw SpQRError(
                .fileFormat,
                "\(path): no tensor named \"\(name)\" (it has \(tensors.count): \(names)\(tensors.count > 8 ? ", …" : ""))"
            )
        }
        return tensors[i]
    }

    /// Whether the file holds a tensor named `name`.
    public func contains(_ name: String) -> Bool { index[name] != nil }

    /// The file offset of a tensor's first byte.
    func offset(of t: SafetensorsTensorInfo) -> Int { dataStart + t.begin }

    /// The float tensor `name`, checked to be convertible.
    func floatInfo(_ name: String) throws -> (SafetensorsTensorInfo, SafetensorsDType) {
        let t = try info(name)
        guard let dtype = t.dtype, dtype.isFloat else {
            throw SpQRError(
                .unsupported,
                "\(path): tensor \"\(name)\" has dtype \(t.dtypeName); only F32, F16, BF16 and F64 can be converted to Float"
            )
        }
        return (t, dtype)
    }

    /// Converts elements `range` of the float tensor `t` into `out`.
    func readFloats(
        _ t: SafetensorsTensorInfo, dtype: SafetensorsDType, elements range: Range<Int>,
        into out: UnsafeMutablePointer<Float>
    ) throws {
        precondition(range.lowerBound >= 0 && range.upperBound <= t.elementCount)
        try bytes.readFloats(
            at: dataStart + t.begin + range.lowerBound * dtype.size, count: range.count, dtype: dtype,
            into: out, what: "tensor \"\(t.name)\"")
    }

    /// A floating-point tensor converted to Float (F64, F32, F16, BF16); refused before anything is
    /// allocated when its Float copy does not fit the available memory.
    public func floats(_ name: String) throws -> [Float] {
        let t = try info(name)
        return try floats(name, elements: 0..<t.elementCount)
    }

    /// Elements `range` (row-major) of a floating-point tensor converted to Float.
    public func floats(_ name: String, elements range: Range<Int>) throws -> [Float] {
        let (t, dtype) = try floatInfo(name)
        precondition(
            range.lowerBound >= 0 && range.upperBound <= t.elementCount, "elements \(range) of \(t.elementCount)")
        try MemoryBudget.checkFloats(range.count, tensor: name, path: path)
        return try [Float](unsafeUninitializedCapacity: range.count) { out, initialized in
            initialized = 0
            if let base = out.baseAddress { try readFloats(t, dtype: dtype, elements: range, into: base) }
            initialized = range.count
        }
    }

    /// A 2-D floating-point tensor as a matrix.
    public func matrix(_ name: String) throws -> Matrix {
        let t = try info(name)
        guard t.shape.count == 2 else {
            throw SpQRError(
                .shapeMismatch, "\(path): tensor \"\(name)\" has shape \(t.shape); a 2-D [rows, cols] matrix is needed")
        }
        return Matrix(rows: t.shape[0], cols: t.shape[1], values: try floats(name))
    }

    /// An integer tensor (I64, I32, I8, U8, BOOL) as Int.
    public func integers(_ name: String) throws -> [Int] {
        let t = try info(name)
        guard [.I64, .I32, .U8, .BOOL, .I8].contains(t.dtype) else {
            throw SpQRError(.unsupported, "\(path): tensor \"\(name)\" has dtype \(t.dtypeName), not an integer type")
        }
        try MemoryBudget.check(
            bytes: t.elementCount * (MemoryLayout<Int>.size + 1),
            for: "tensor \"\(name)\" (\(t.elementCount) integers)", path: path)
        let raw = try bytes.bytes(at: dataStart + t.begin, count: t.end - t.begin, what: "tensor \"\(name)\"")
        return raw.withUnsafeBytes { raw -> [Int] in
            switch t.dtype {
            case .I64?:
                return (0..<t.elementCount).map {
                    Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * $0, as: Int64.self)))
                }
            case .I32?:
                return (0..<t.elementCount).map {
                    Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self)))
                }
            case .I8?: return raw.map { Int(Int8(bitPattern: $0)) }
            default: return raw.map { Int($0) }
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
