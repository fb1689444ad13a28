// Bounds-checked little-endian reads over a file's leading structure (GGUF headers, importance
// matrices, .npy headers): every length and count is checked against the bytes that remain in the
// file before it is used, and bytes are fetched with pread through a window of `windowBytes`, so a
// header of any size is walked in bounded memory and never through a memory map (`FileBytes`).

import Foundation

/// A cursor over a file's bytes with checked little-endian reads.
struct ByteReader {
    let file: FileBytes
    /// The position of the next read.
    var offset = 0
    /// Bytes fetched from the file, starting at `windowStart`.
    private var window: [UInt8] = []
    private var windowStart = 0

    /// Bytes fetched per refill of the window.
    static let windowBytes = 1 << 20

    init(file: FileBytes, offset: Int = 0) {
        self.file = file
        self.offset = offset
    }

    var path: String { file.path }
    /// Bytes left between the cursor and the end of the file (as it was opened).
    var remaining: Int { file.size - offset }

    func fail(_ what: String, _ need: Int) -> SpQRError {
        SpQRError(
            .fileFormat,
            "\(path): truncated: \(what) needs \(need) bytes at offset \(offset), the file has \(file.size)")
    }

    /// Runs `body` over the `n` bytes at the cursor (checked by the caller to lie within the file),
    /// refilling the window when they are not in it.
    private mutating func withBytes<R>(_ n: Int, what: String, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R
    {
        if offset < windowStart || offset + n > windowStart + window.count {
            window = try file.bytes(at: offset, count: min(max(n, Self.windowBytes), file.size - offset), what: what)
            windowStart = offset
        }
        let start = offset - windowStart
        return try window.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[start..<(start + n)])) }
    }

    mutating func bytes(_ n: Int, what: String) throws -> [UInt8] {
        guard n >= 0, n <= remaining else { throw fail(what, n) }
        defer { offset += n }
        return try withBytes(n, what: what) { Array($0) }
    }

    mutating func skip(_ n: Int, what: String) throws {
        guard n >= 0, n <= remaining else { throw fail(what, n) }
        offset += n
    }

    mutating func load<T: FixedWidthInteger>(_ what: String, as: T.Type) throws -> T {
        let n = MemoryLayout<T>.size
        guard n <= remaining else { throw fail(what, n) }
        defer { offset += n }
        return try withBytes(n, what: what) { T(littleEndian: $0.loadUnaligned(as: T.self)) }
    }

    mutating func u32(_ what: String) throws -> UInt32 { try load(what, as: UInt32.self) }
    mutating func u64(_ what: String) throws -> UInt64 { try load(what, as: UInt64.self) }
    mutating func i32(_ what: String) throws -> Int { Int(try load(what, as: Int32.self)) }

    /// `n` little-endian f32 values, each passed through `transform` (the allocation checked against the
    /// available memory first).
    mutating func floats(_ n: Int, what: String, _ transform: (Float) -> Float = { $0 }) throws -> [Float] {
        guard n >= 0, n <= remaining / 4 else { throw fail(what, 4 * max(n, 0)) }
        try MemoryBudget.check(bytes: 4 * n, for: what, path: path)
        var out = [Float](repeating: 0, count: n)
        try out.withUnsafeMutableBytes { try file.read(at: offset, into: $0, what: what) }
        for j in 0..<n { out[j] = transform(Float(bitPattern: UInt32(littleEndian: out[j].bitPattern))) }
        offset += 4 * n
        return out
    }

    /// A u64 count that must be satisfiable by the remaining bytes, `minimumBytesEach` per item.
    mutating func count(_ what: String, minimumBytesEach: Int) throws -> Int {
        let c = try u64(what)
        guard c <= UInt64(max(0, remaining) / max(minimumBytesEach, 1)) else {
            throw SpQRError(.fileFormat, "\(path): \(what) \(c) cannot fit in the \(remaining) bytes that remain")
        }
        return Int(c)
    }

    /// A u64 length and that many bytes, checked (not read) before the cursor moves past them.
    mutating func stringBytes(_ what: String) throws -> Range<Int> {
        let n = try u64("length of \(what)")
        guard n <= UInt64(remaining) else {
            throw SpQRError(
                .fileFormat,
                "\(path): \(what) claims \(n) bytes at offset \(offset), past the end of the \(file.size)-byte file")
        }
        defer { offset += Int(n) }
        return offset..<(offset + Int(n))
    }

    /// A u64 length and that many bytes of UTF-8.
    mutating func string(_ what: String) throws -> String {
        let n = try u64("length of \(what)")
        guard n <= UInt64(remaining) else {
            throw SpQRError(
                .fileFormat,
                "\(path): \(what) claims \(n) bytes at offset \(offset), past the end of the \(file.size)-byte file")
        }
        let s = try withBytes(Int(n), what: what) { String(validating: $0, as: UTF8.self) }
        offset += Int(n)
        guard let s else { throw SpQRError(.fileFormat, "\(path): \(what) is not valid UTF-8") }
        return s
    }
}
