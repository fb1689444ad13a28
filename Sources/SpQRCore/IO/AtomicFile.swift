// Atomic file replacement: the data goes to a temporary file beside the target (same directory, so
// the same file system), is flushed with fsync, and is renamed over the target; the directory is then
// fsynced so that the rename itself survives a crash. A failure at any step removes the temporary file
// and leaves an existing target untouched, so no reader ever sees a half-written file.

import Foundation

/// Atomic file replacement: write a temporary file beside the target, flush it, rename it over.
public enum AtomicFile {
    /// Writes `data` to `path` atomically.
    public static func write(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let tmp = dir + "/.\(url.lastPathComponent).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            throw SpQRError(
                .io,
                "\(path): cannot create a file in \(dir) (\(String(cString: strerror(errno)))); choose a writable directory"
            )
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
