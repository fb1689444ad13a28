// NumPy .npy, format versions 1.0, 2.0 and 3.0 (numpy/lib/format.py, NEP 1):
//
//   "\x93NUMPY", u8 major, u8 minor, header length (u16 for 1.x, u32 for 2.x and 3.x, little-endian),
//   the header: a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (n, d), }
//   (latin-1 text in 1.x and 2.x, UTF-8 in 3.x) padded with spaces and a newline, then the raw data.
//
// Read here: little-endian (or byte-order-free) f2, f4 and f8 in C order with at least two dimensions;
// leading dimensions are flattened into rows, so [batch, seq, in] reads as [batch·seq, in]. Big-endian
// data, Fortran order, structured and other dtypes are refused with a message saying how to re-save.
// Rows are read (with pread, `FileBytes`) and converted only when asked for.

import Foundation

/// A .npy array of floats, read on demand.
public struct NumpyArray: Sendable {
    public let path: String
    /// "1.0", "2.0" or "3.0".
    public let version: String
    /// F16, F32 or F64.
    public let dtype: SafetensorsDType
    /// The shape as stored.
    public let shape: [Int]
    let file: FileBytes
    let dataOffset: Int

    /// Rows after flattening the leading dimensions.
    public var rows: Int { shape.dropLast().reduce(1, *) }
    /// The last dimension.
    public var cols: Int { shape.last ?? 0 }

    /// Opens a .npy file and validates its header and size.
    public init(path: String) throws {
        self.path = path
        func fail(_ m: String) -> SpQRError { SpQRError(.fileFormat, "\(path): \(m)") }
        let file = try FileBytes(path: path)
        var r = ByteReader(file: file)
        guard try r.bytes(6, what: "magic") == [0x93] + Array("NUMPY".utf8) else {
            throw fail("not a .npy file (bad magic)")
        }
        let v = try r.bytes(2, what: "version")
        let headerLength: Int
        switch v[0] {
        case 1: headerLength = Int(try r.load("header length", as: UInt16.self))
        case 2, 3: headerLength = Int(try r.u32("header length"))
        default: throw fail(".npy version \(v[0]).\(v[1]) is not supported (1.0, 2.0 and 3.0 are)")
        }
        guard headerLength <= r.remaining else {
            throw fail("truncated: the header claims \(headerLength) bytes, \(r.remaining) remain")
        }
        let headerBytes = try r.bytes(headerLength, what: "header")
        // Versions 1 and 2 write latin-1; the keys and values read here are ASCII in any case.
        let header =
            v[0] == 3
            ? String(validating: headerBytes, as: UTF8.self)
            : String(decoding: headerBytes.map { $0 < 0x80 ? $0 : 0x3F }, as: UTF8.self)
        guard let header else { throw fail("header is not valid UTF-8") }
        let dict: [String: PythonLiteral.Value]
        do { dict = try PythonLiteral.dictionary(header) } catch let e as PythonLiteral.Failure {
            throw fail("header is not a Python dict literal (\(e.message)): \(header.prefix(120))")
        }
        guard Set(dict.keys) == ["descr", "fortran_order", "shape"] else {
            throw fail(
                "header keys are \(dict.keys.sorted()); a .npy header has exactly descr, fortran_order and shape")
        }
        guard case .string(let descr)? = dict["descr"] else {
            throw fail("descr is not a string (structured dtypes are not supported)")
        }
        guard case .bool(let fortran)? = dict["fortran_order"] else { throw fail("fortran_order is not True or False") }
        guard case .tuple(let shape)? = dict["shape"] else { throw fail("shape is not a tuple of integers") }
        switch descr {
        case "<f2", "|f2": dtype = .F16
        case "<f4", "|f4": dtype = .F32
        case "<f8", "|f8": dtype = .F64
        case ">f2", ">f4", ">f8":
            throw fail("dtype '\(descr)' is big-endian; save it little-endian (x.astype(x.dtype.newbyteorder('<')))")
        default:
            throw fail(
                "dtype '\(descr)' is not supported (little-endian float16, float32 and float64 are: '<f2', '<f4', '<f8')"
            )
        }
        if fortran { throw fail("the array is in Fortran order; save it with numpy.ascontiguousarray first") }
        guard shape.count >= 2 else {
            throw fail("shape \(shape): activations need at least two dimensions, [n, in] (or [batch, seq, in])")
        }
        guard let count = checkedProduct(shape), let bytes = dtype.byteCount(elements: count) else {
            throw fail("shape \(shape) overflows the element count")
        }
        guard bytes <= r.remaining else {
            throw fail("truncated: shape \(shape) of \(descr) needs \(bytes) bytes of data, \(r.remaining) remain")
        }
        self.version = "\(v[0]).\(v[1])"
        self.shape = shape
        self.file = file
        self.dataOffset = r.offset
    }

    /// Runs `body` over the raw little-endian bytes of rows `range` (after flattening).
    func withRows<R>(_ range: Range<Int>, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let rowBytes = cols * dtype.size
        return try file.withBytes(
            at: dataOffset + range.lowerBound * rowBytes, count: range.count * rowBytes,
            what: "rows \(range.lowerBound)..<\(range.upperBound) of the array", body)
    }

    /// The whole array as a matrix [rows, cols]; refused before anything is allocated when it does not
    /// fit the available memory.
    public func matrix() throws -> Matrix {
        let count = rows * cols
        try MemoryBudget.checkFloats(count, tensor: "array", path: path)
        let values = try [Float](unsafeUninitializedCapacity: count) { out, initialized in
            initialized = 0
            if let base = out.baseAddress {
                try file.readFloats(at: dataOffset, count: count, dtype: dtype, into: base, what: "the array's data")
            }
            initialized = count
        }
        return Matrix(rows: rows, cols: cols, values: values)
    }

    /// Reads X as a matrix.
    public static func read(path: String) throws -> Matrix { try NumpyArray(path: path).matrix() }
}

/// The subset of Python literal syntax that .npy headers use: a dict of string keys to strings,
/// True/False and tuples of integers.
enum PythonLiteral {
    enum Value: Equatable { case string(String), bool(Bool), tuple([Int]) }

    struct Failure: Error { let message: String }

    static func dictionary(_ text: String) throws -> [String: Value] {
        var s = Substring(text)
        func skipSpace() { s = s.drop { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" } }
        func expect(_ c: Character) throws {
            skipSpace()
            guard s.first == c else { throw Failure(message: "expected '\(c)' at '\(s.prefix(12))'") }
            s = s.dropFirst()
        }
        func string() throws -> String {
            skipSpace()
            guard let q = s.first, q == "'" || q == "\"" else {
                throw Failure(message: "expected a quoted string at '\(s.prefix(12))'")
            }
            s = s.dropFirst()
            guard let end = s.firstIndex(of: q) else { throw Failure(message: "unterminated string") }
            let v = String(s[..<end])
            guard !v.contains("\\") else { throw Failure(message: "escapes in strings are not supported") }
            s = s[s.index(after: end)...]
            return v
        }
        func integer() throws -> Int {
            skipSpace()
            let digits = s.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, let v = Int(digits) else {
                throw Failure(message: "expected a non-negative integer at '\(s.prefix(12))'")
            }
            s = s.dropFirst(digits.count)
            skipSpace()
            if s.first == "L" { s = s.dropFirst() }  // Python 2 long literals in old files
            return v
        }
        var out: [String: Value] = [:]
        try expect("{")
        while true {
            skipSpace()
            if s.first == "}" {
                s = s.dropFirst()
                break
            }
            let key = try string()
            guard out[key] == nil else { throw Failure(message: "key '\(key)' appears twice") }
            try expect(":")
            skipSpace()
            if s.first == "'" || s.first == "\"" {
                out[key] = .string(try string())
            } else if s.hasPrefix("True") {
                s = s.dropFirst(4)
                out[key] = .bool(true)
            } else if s.hasPrefix("False") {
                s = s.dropFirst(5)
                out[key] = .bool(false)
            } else if s.first == "(" {
                s = s.dropFirst()
                var items: [Int] = []
                while true {
                    skipSpace()
                    if s.first == ")" {
                        s = s.dropFirst()
                        break
                    }
                    items.append(try integer())
                    skipSpace()
                    if s.first == "," {
                        s = s.dropFirst()
                    } else if s.first != ")" {
                        throw Failure(message: "expected ',' or ')' in a tuple")
                    }
                }
                out[key] = .tuple(items)
            } else {
                throw Failure(message: "unsupported value for '\(key)' at '\(s.prefix(12))'")
            }
            skipSpace()
            if s.first == "," {
                s = s.dropFirst()
            } else if s.first != "}" {
                throw Failure(message: "expected ',' or '}'")
            }
        }
        skipSpace()
        guard s.isEmpty else { throw Failure(message: "text after the closing brace") }
        return out
    }
}
