// Atomic file replacement: the data goes to a temporary file beside the target (same directory, so
// the same file system), is flushed with fsync, and is renamed over the target; the directory is then
// fsynced so that the rename itself survives a crash. A failure at any step removes the temporary file
// and leaves an existing target untouched, so no reader ever sees a half-written file. A directory of
// files is built the same way: in a temporary sibling directory renamed into place when complete (over
// an empty directory, never over a non-empty one).

import Foundation

/// Atomic file replacement: write a temporary file beside the target, flush it, rename it over.
public enum AtomicFile {
    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to path: String) throws {
        let stream = try AtomicFileStream(path: path)
        try data.withUnsafeBytes { try stream.write($0) }
        try stream.finish()
    }
}

/// A file written in pieces to a temporary file beside `path` and renamed into place by `finish()`;
/// any failed write, a `finish()` that fails, `abandon()` or deinitialization before `finish()` removes the
/// temporary file.
public final class AtomicFileStream {
    /// The target path.
    public let path: String
    /// The temporary file the data goes to until `finish()`.
    let temporaryPath: String
    private var fd: Int32
    private var done = false

    /// Creates the temporary file (`.<name>.tmp-<pid>-<random>` beside `path`).
    public init(path: String) throws {
        self.path = path
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        temporaryPath = dir + "/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        fd = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw SpQRError(
                .io,
                "\(path): cannot create a file in \(dir) (\(String(cString: strerror(errno)))); choose a writable directory"
            )
        }
    }

    deinit {
        if !done { abandon() }
    }

    /// Appends `raw`; a failure (a full disk, an I/O error) removes the temporary file.
    public func write(_ raw: UnsafeRawBufferPointer) throws {
        guard !done else { throw SpQRError(.invalidSetting, "\(path): written after it was finished or abandoned") }
        var at = 0
        while at < raw.count {
            let n = Foundation.write(fd, raw.baseAddress! + at, min(raw.count - at, 1 << 30))
            if n < 0 {
                if errno == EINTR { continue }
                let reason = String(cString: strerror(errno))
                abandon()
                throw SpQRError(.io, "\(path): could not write (\(reason)); the previous file, if any, is unchanged")
            }
            at += n
        }
    }

    /// Appends `count` bytes of `file` from byte `offset`, a chunk at a time, checking `cancel` between chunks.
    public func copy(from file: FileBytes, at offset: Int, count: Int, what: String, cancel: CancellationToken? = nil)
        throws
    {
        let chunk = min(count, 1 << 24)
        guard chunk > 0 else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 8)
        defer { buffer.deallocate() }
        var copied = 0
        while copied < count {
            if cancel?.isCancelled == true {
                abandon()
                throw SpQRError.cancelled
            }
            let n = min(chunk, count - copied)
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
            do { try file.read(at: offset + copied, into: piece, what: what) } catch {
                abandon()
                throw error
            }
            try write(UnsafeRawBufferPointer(piece))
            copied += n
        }
    }

    /// Flushes the file, renames it to `path` and flushes the directory.
    public func finish() throws {
        guard !done else { throw SpQRError(.invalidSetting, "\(path): finished after it was abandoned") }
        var failure: String?
        if fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        if close(fd) != 0 && failure == nil { failure = String(cString: strerror(errno)) }
        fd = -1
        if failure == nil && rename(temporaryPath, path) != 0 { failure = String(cString: strerror(errno)) }
        if let failure {
            abandon()
            throw SpQRError(.io, "\(path): could not write (\(failure)); the previous file, if any, is unchanged")
        }
        done = true
        // Make the rename itself durable; a directory that cannot be opened only loses that guarantee.
        let dir = (path as NSString).deletingLastPathComponent
        let dirfd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }

    /// Removes the temporary file (after a failure or cancellation); nothing appears at `path`.
    public func abandon() {
        if fd >= 0 { close(fd) }
        fd = -1
        if !done { unlink(temporaryPath) }
        done = true
    }
}

/// A directory built in a temporary sibling and renamed into place when complete.
public enum AtomicDirectory {
    /// Creates `directory` by running `build` on an empty temporary directory beside it (`.<name>.tmp-<pid>-
    /// <random>`), then renaming that into place. `directory` must not exist or be an empty directory (it
    /// is then replaced). Any error, from `build` or a `cancel` seen after it, removes the temporary
    /// directory; errors that name the temporary directory are rewritten to name `directory`.
    public static func build(
        _ directory: String, cancel: CancellationToken? = nil, _ build: (_ temporary: String) throws -> Void
    ) throws {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: directory).standardizedFileURL
        var isDirectory: ObjCBool = false
        if fm.fileExists(atPath: target.path, isDirectory: &isDirectory) {
            let contents = isDirectory.boolValue ? ((try? fm.contentsOfDirectory(atPath: target.path)) ?? ["?"]) : ["?"]
            guard isDirectory.boolValue, contents.isEmpty else {
                throw SpQRError(
                    .io,
                    "\(directory): already exists\(isDirectory.boolValue ? " and is not empty" : " as a file"); "
                        + "choose a new directory (or an empty one)")
            }
        }
        let parent = target.deletingLastPathComponent().path
        let tmp = parent + "/.\(target.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        guard mkdir(tmp, 0o755) == 0 else {
            throw SpQRError(
                .io,
                "\(directory): cannot create a directory in \(parent) (\(String(cString: strerror(errno)))); "
                    + "choose a writable location")
        }
        do {
            try build(tmp)
            try cancel?.check()
            guard rename(tmp, target.path) == 0 else {
                throw SpQRError(
                    .io,
                    "\(directory): could not move the finished directory into place (\(String(cString: strerror(errno))))"
                )
            }
        } catch let e as SpQRError {
            try? fm.removeItem(atPath: tmp)
            throw SpQRError(e.kind, e.message.replacingOccurrences(of: tmp, with: target.path))
        } catch {
            try? fm.removeItem(atPath: tmp)
            throw error
        }
        let dirfd = open(parent, O_RDONLY | O_DIRECTORY)
        if dirfd >= 0 {
            _ = fsync(dirfd)
            close(dirfd)
        }
    }
}
