// Thin Swift wrappers over the few OpenBLAS routines SpQRCore uses.
//
// OpenBLAS runs single-threaded here: the GPTQ loop spreads independent rows over the cores itself, and a
// multi-threaded OpenBLAS would compete with those threads. Only the one-off factorisation and tr(WHWᵀ)
// of a layer preparation switch OpenBLAS to all cores for their duration (`withThreads`).
//
// OpenBLAS's thread count is global and its sgemm sums in a different order when threaded, so a
// threaded section excludes every other call: `sgemm` holds a shared lock, `withThreads` the exclusive
// one. Results therefore never depend on what another thread is doing (two layers prepared at once in
// one process give the same bits as one after the other).

import COpenBLAS

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// A writer-preferring reader–writer lock: single-threaded BLAS calls share it, threaded sections own it.
private final class BLASModeLock: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>

    init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_rwlock_t())
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        #if canImport(Glibc)
            // A waiting threaded section stops new single-threaded calls from starving it.
            pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        #endif
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
    }

    @inline(__always) func shared<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }

    func exclusive<R>(_ body: () throws -> R) rethrows -> R {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body()
    }
}

/// The OpenBLAS routines with the project's threading rules (public for the model runtime).
public enum BLAS {
    /// Put OpenBLAS in single-threaded mode once, before the first call.
    static let configured: Void = { openblas_set_num_threads(1) }()

    /// C[m×n] = alpha · A[m×k] · B[k×n] + beta · C, row-major with leading dimensions.
    @inline(__always)
    public static func sgemm(
        m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
        b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        _ = configured
        guard m > 0, n > 0 else { return }
        mode.shared {
            cblas_sgemm(
                Int32(SpQRCblasRowMajor.rawValue),
                Int32((transA ? SpQRCblasTrans : SpQRCblasNoTrans).rawValue),
                Int32((transB ? SpQRCblasTrans : SpQRCblasNoTrans).rawValue),
                Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        }
    }

    /// Upper triangle of C[n×n] = Aᵀ A + beta · C for row-major A [k, n]. Threaded-section routine: call
    /// inside `withThreads`.
    public static func syrkUpperAtA(
        n: Int, k: Int, a: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, beta: Float = 0
    ) {
        _ = configured
        cblas_ssyrk(
            Int32(SpQRCblasRowMajor.rawValue), Int32(SpQRCblasUpper.rawValue), Int32(SpQRCblasTrans.rawValue),
            Int32(n), Int32(k), 1, a, Int32(n), beta, c, Int32(n))
    }

    /// Runs `body` with OpenBLAS using `threads` threads, then returns it to single-threaded mode. No other
    /// BLAS call runs meanwhile; `body` may call only the routines documented as threaded-section ones
    /// (`syrkUpperAtA`, `potrfUpper`, `trtriUpper`), never `sgemm` (it would wait for itself).
    public static func withThreads<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
        _ = configured
        return try mode.exclusive {
            openblas_set_num_threads(Int32(threads))
            defer { openblas_set_num_threads(1) }
            return try body()
        }
    }

    /// Orders single-threaded calls against threaded sections.
    private static let mode = BLASModeLock()

    /// In-place Cholesky factor (LAPACK spotrf, column-major); returns LAPACK's info. Threaded-section routine.
    static func potrfUpper(_ a: UnsafeMutablePointer<Float>, n: Int) -> Int {
        _ = configured
        var info: Int32 = 0
        var nn = Int32(n)
        var uplo = CChar(UInt8(ascii: "U"))
        spotrf_(&uplo, &nn, a, &nn, &info)
        return Int(info)
    }

    /// In-place inverse of an upper triangular matrix (LAPACK strtri, column-major); returns info.
    /// Threaded-section routine.
    static func trtriUpper(_ a: UnsafeMutablePointer<Float>, n: Int) -> Int {
        _ = configured
        var info: Int32 = 0
        var nn = Int32(n)
        var uplo = CChar(UInt8(ascii: "U"))
        var diag = CChar(UInt8(ascii: "N"))
        strtri_(&uplo, &diag, &nn, a, &nn, &info)
        return Int(info)
    }
}
