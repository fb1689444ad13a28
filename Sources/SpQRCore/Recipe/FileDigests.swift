// SHA-256 digests of the files a recipe names (model shards, calibration file), computed once per file
// version and reported with progress.
//
//   digest(f) = SHA-256(bytes of f)   (FIPS 180-4; `SHA256`), reused while (size, mtime) of f are unchanged
//
// Hashing is bound by one core per file (about 1.3 GB/s with SHA instructions, a few hundred MB/s
// without), so a 13.5 GB checkpoint takes from seconds to a minute: files are hashed concurrently,
// progress is reported in bytes, a cancellation token stops the work between 4 MiB chunks, and a
// repeated export reuses the digests.

import Dispatch
import Foundation
import Synchronization

/// A thread-safe memo of file digests keyed by path, size and modification time.
public final class FileDigests: Sendable {
    private struct Known: Sendable {
        var size: Int
        var modified: Double
        var digest: String
    }

    private let known = Locked<[String: Known]>([:])

    public init() {}

    /// The size in bytes and modification time of `path`, or an error naming the file.
    static func stamp(_ path: String) throws -> (size: Int, modified: Double) {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: path)
        } catch {
            throw SpQRError(.io, "\(path): cannot read to hash it (\((error as NSError).localizedDescription))")
        }
        let size = (attributes[.size] as? NSNumber)?.intValue ?? 0
        let modified = (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0
        return (size, modified)
    }

    /// The digest of `path` if it was computed for the file as it is now.
    public func cached(_ path: String) -> String? {
        guard let s = try? Self.stamp(path) else { return nil }
        return remembered(path, s)
    }

    /// The memo's digest of `path` when it was taken at the same size and modification time.
    private func remembered(_ path: String, _ s: (size: Int, modified: Double)) -> String? {
        known.withLock { k in
            guard let e = k[path], e.size == s.size, e.modified == s.modified else { return nil }
            return e.digest
        }
    }

    /// The digest of one file (from the memo when the file is unchanged).
    public func digest(_ path: String, cancel: CancellationToken? = nil) throws -> String {
        try digests(of: [path], cancel: cancel)[0]
    }

    /// The digests of `paths`, in order. Files not yet known are hashed concurrently (one file per core);
    /// `progress(done, total)` reports bytes hashed against the bytes that need hashing, from worker
    /// threads. Throws `SpQRError.cancelled` when `cancel` is set, and the first I/O error otherwise.
    public func digests(
        of paths: [String], cancel: CancellationToken? = nil,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> [String] {
        try sizedDigests(of: paths, cancel: cancel, progress: progress).map(\.digest)
    }

    /// `digests(of:)` with the size each digest is remembered under (read just before the file was hashed).
    func sizedDigests(
        of paths: [String], cancel: CancellationToken? = nil,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> [(size: Int, digest: String)] {
        var results = [(size: Int, digest: String)?](repeating: nil, count: paths.count)
        var pending: [(index: Int, path: String, size: Int, modified: Double)] = []
        for (i, p) in paths.enumerated() {
            let s = try Self.stamp(p)
            if let hit = remembered(p, s) {
                results[i] = (s.size, hit)
            } else {
                pending.append((i, p, s.size, s.modified))
            }
        }
        if pending.isEmpty { return results.map { $0! } }
        let todo = pending
        let total = todo.reduce(0) { $0 + $1.size }
        let done = Atomic<Int>(0)
        let next = Atomic<Int>(0)
        let outcome = Locked<(digests: [Int: String], error: Error?)>(([:], nil))
        let failed = CancellationToken()
        let workers = min(todo.count, max(1, ProcessInfo.processInfo.activeProcessorCount))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let j = next.add(1, ordering: .relaxed).oldValue
                guard j < todo.count, !failed.isCancelled else { return }
                let item = todo[j]
                do {
                    let d = try SHA256.file(item.path, stop: { failed.isCancelled || (cancel?.isCancelled ?? false) }) {
                        bytes in
                        let sum = done.add(bytes, ordering: .relaxed).newValue
                        progress?(sum, total)
                    }
                    outcome.withLock { $0.digests[item.index] = d }
                } catch {
                    // The first failure stops the other workers; a cancellation is reported as such.
                    outcome.withLock {
                        if $0.error == nil || ($0.error as? SpQRError)?.kind == .cancelled { $0.error = error }
                    }
                    failed.cancel()
                    return
                }
            }
        }
        let (digests, error) = outcome.withLock { ($0.digests, $0.error) }
        try cancel?.check()
        if let error { throw error }
        known.withLock { k in
            for item in todo {
                k[item.path] = Known(size: item.size, modified: item.modified, digest: digests[item.index]!)
            }
        }
        for item in todo { results[item.index] = (item.size, digests[item.index]!) }
        return results.map { $0! }
    }
}
