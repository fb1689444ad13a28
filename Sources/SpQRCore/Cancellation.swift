// Cooperative cancellation and progress for long quantization runs. The engine checks the token between
// GPTQ blocks, so a newer request stops an older run within one block's work.

import Synchronization

/// A flag a caller sets to stop a running quantization at the next block boundary.
public final class CancellationToken: Sendable {
    private let flag = Atomic<Bool>(false)

    public init() {}

    /// Asks the run to stop.
    public func cancel() { flag.store(true, ordering: .relaxed) }

    /// Whether `cancel()` was called.
    public var isCancelled: Bool { flag.load(ordering: .relaxed) }

    /// Throws `SpQRError.cancelled` if cancelled.
    public func check() throws {
        if isCancelled { throw SpQRError.cancelled }
    }
}

/// Progress of a run in [0, 1], reported from the worker thread.
public typealias ProgressHandler = @Sendable (Double) -> Void

/// Raw pointers handed to parallel workers that write disjoint ranges.
struct SharedPointer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
    init(_ base: UnsafeMutablePointer<T>) { self.base = base }
}
