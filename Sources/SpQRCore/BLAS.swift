// Thin Swift wrappers over the few OpenBLAS routines SpQRCore uses.
//
// OpenBLAS runs single-threaded here: the GPTQ loop spreads independent rows over the cores itself, and a
// multi-threaded OpenBLAS would compete with those threads. Only the one-off factorisation and tr(WHWᵀ)
// of a layer preparation switch OpenBLAS to all cores for their duration (`withThreads`); callers run one
// preparation at a time (the explorer and the commands do).

import COpenBLAS
import Synchronization

enum BLAS {
    /// Put OpenBLAS in single-threaded mode once, before the first call.
    static let configured: Void = { openblas_set_num_threads(1) }()

    /// C[m×n] = alpha · A[m×k] · B[k×n] + beta · C, row-major with leading dimensions.
    @inline(__always)
    static func sgemm(m: Int, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int, transA: Bool = false,
                      b: UnsafePointer<Float>, ldb: Int, transB: Bool = false,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        _ = configured
        guard m > 0, n > 0 else { return }
        cblas_sgemm(Int32(SpQRCblasRowMajor.rawValue),
                    Int32((transA ? SpQRCblasTrans : SpQRCblasNoTrans).rawValue),
                    Int32((transB ? SpQRCblasTrans : SpQRCblasNoTrans).rawValue),
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Upper triangle of C[n×n] = Aᵀ A for row-major A [k, n].
    static func syrkUpperAtA(n: Int, k: Int, a: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>) {
        _ = configured
        cblas_ssyrk(Int32(SpQRCblasRowMajor.rawValue), Int32(SpQRCblasUpper.rawValue), Int32(SpQRCblasTrans.rawValue),
                    Int32(n), Int32(k), 1, a, Int32(n), 0, c, Int32(n))
    }

    /// Runs `body` with OpenBLAS using `threads` threads, then returns it to single-threaded mode.
    static func withThreads<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
        _ = configured
        return try threadMode.withLock { _ in
            openblas_set_num_threads(Int32(threads))
            defer { openblas_set_num_threads(1) }
            return try body()
        }
    }

    /// Serialises switches of OpenBLAS's global thread count.
    private static let threadMode = Mutex<Void>(())

    /// In-place Cholesky factor (LAPACK spotrf, column-major); returns LAPACK's info.
    static func potrfUpper(_ a: UnsafeMutablePointer<Float>, n: Int) -> Int {
        _ = configured
        var info: Int32 = 0, nn = Int32(n), uplo = CChar(UInt8(ascii: "U"))
        spotrf_(&uplo, &nn, a, &nn, &info)
        return Int(info)
    }

    /// In-place inverse of an upper triangular matrix (LAPACK strtri, column-major); returns info.
    static func trtriUpper(_ a: UnsafeMutablePointer<Float>, n: Int) -> Int {
        _ = configured
        var info: Int32 = 0, nn = Int32(n), uplo = CChar(UInt8(ascii: "U")), diag = CChar(UInt8(ascii: "N"))
        strtri_(&uplo, &diag, &nn, a, &nn, &info)
        return Int(info)
    }
}
