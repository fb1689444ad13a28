// Reading a file's bytes with pread(2), never through a memory map.
//
// A mapped file that another process truncates kills the reader with SIGBUS as soon as it touches a
// page past the new end, and no Swift code can catch that. pread instead returns fewer bytes than
// asked, which becomes an SpQRError naming the file, the bytes that are gone and the file's current
// size (fstat). Every reader of model and calibration files goes through `FileBytes`, so no access path
// can raise SIGBUS.
//
// The descriptor stays open for the object's lifetime: a file replaced by rename keeps serving the bytes
// whose header was validated; one truncated in place is reported on the next read that reaches the lost
// bytes.

import Foundation

/// A read-only file read with pread; short reads become errors naming the file.
public final class FileBytes: Sendable {
    /// The path it was opened from.
    public let path: String
    /// The size when it was opened (headers are validated against it).
    public let size: Int
    private let fd: Int32

    /// Opens `path` for reading.
    public init(path: String) throws {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let reason = String(cString: strerror(errno))
            throw SpQRError(.io, "\(path): cannot open (\(reason)); check the path and permissions")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw SpQRError(.io, "\(path): cannot open (\(reason)); check the path and permissions")
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            close(fd)
            throw SpQRError(.io, "\(path): is a directory, not a file")
        }
        self.fd = fd
        self.size = Int(st.st_size)
    }

    deinit { close(fd) }

    /// The file's size now (it may differ from `size` when another process changed it), or nil when
    /// fstat fails.
    public var currentSize: Int? {
        var st = stat()
        return fstat(fd, &st) == 0 ? Int(st.st_size) : nil
    }

    /// Fills `destination` with the bytes at `offset`; `what` names them in errors ("tensor \"w\"").
    public func read(at offset: Int, into destination: UnsafeMutableRawBufferPointer, what: String) throws {
        guard let base = destination.baseAddress, destination.count > 0 else { return }
        precondition(offset >= 0, "FileBytes.read at negative offset \(offset)")
        var done = 0
        while done < destination.count {
            // Linux transfers at most about 2 GiB per call; larger reads loop.
            let n = pread(fd, base + done, min(destination.count - done, 1 << 30), off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                throw SpQRError(
                    .io, "\(path): cannot read \(what) (bytes \(offset)..<\(offset + destination.count)): \(reason)")
            }
            if n == 0 { throw shortRead(what, offset: offset, count: destination.count) }
            done += n
        }
    }

    /// The error for bytes that are no longer there.
    func shortRead(_ what: String, offset: Int, count: Int) -> SpQRError {
        let now = currentSize.map { "is now \($0) bytes" } ?? "can no longer be measured"
        return SpQRError(
            .io,
            "\(path): \(what) (bytes \(offset)..<\(offset + count)) cannot be read: the file \(now), "
                + "\(size) when it was opened; it was truncated or rewritten while open. Open it again once it is complete"
        )
    }

    /// Runs `body` over `count` bytes at `offset`, read into a temporary buffer.
    public func withBytes<R>(at offset: Int, count: Int, what: String, _ body: (UnsafeRawBufferPointer) throws -> R)
        throws -> R
    {
        try MemoryBudget.check(bytes: count, for: what, path: path)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: count, alignment: 8)
        defer { buffer.deallocate() }
        try read(at: offset, into: buffer, what: what)
        return try body(UnsafeRawBufferPointer(buffer))
    }

    /// `count` bytes at `offset` as an array (the allocation checked against available memory first).
    public func bytes(at offset: Int, count: Int, what: String) throws -> [UInt8] {
        try MemoryBudget.check(bytes: count, for: what, path: path)
        return try [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            initialized = 0
            try read(at: offset, into: UnsafeMutableRawBufferPointer(buffer), what: what)
            initialized = count
        }
    }

    /// `count` bytes at `offset` as Data (the allocation checked against available memory first).
    public func data(at offset: Int, count: Int, what: String) throws -> Data {
        Data(try bytes(at: offset, count: count, what: what))
    }
}
