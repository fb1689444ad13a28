// The damped, permuted Hessian and the upper Cholesky factor of its inverse, which drives GPTQ.
//
//     Hp  = H[perm][:, perm]
//     dead = { j : Hp[j,j] = 0 }                                   (before damping)
//     Hd  = Hp + λ I,   λ = percdamp · mean_j |Hp[j,j]|,   then Hd[j,j] = 1 for dead j
//     U   = upper triangular with Uᵀ U = Hd⁻¹,   d_j = U[j,j]
//
// Source: reference `SPQRUtil.quantize` (torch.linalg.cholesky → cholesky_inverse → cholesky(upper)).
// The same U comes from a single factorisation: with P the order-reversing permutation and
// P Hd P = Aᵀ A (A upper), U = P A⁻ᵀ P, so U = flip(A⁻¹) where flip reverses the flat column-major array.
// That is one potrf and one trtri (≈ n³/3 flops each) instead of potrf, potri and potrf.

import Dispatch
import Foundation

/// Everything GPTQ needs from the Hessian for one (permutation order, percdamp) pair; independent of the
/// bits, groups and threshold, so slider changes reuse it.
public struct HessianFactor: Sendable {
    /// Processing order: column k of the permuted problem is original column perm[k].
    public let perm: [Int]
    /// dead[k]: permuted column k has a zero Hessian diagonal (its input is always zero).
    public let dead: [Bool]
    /// The damping λ added to the diagonal.
    public let lambda: Float
    /// Row-major [in, in] upper triangular U with Uᵀ U = Hd⁻¹.
    public let u: [Float]
    /// d_j = U[j, j].
    public let d: [Float]

    /// Factorises the damped, permuted Hessian.
    /// - Throws: `.notPositiveDefinite` naming the layer and suggesting more damping.
    public init(hessian h: Matrix, perm: [Int], percdamp: Double, layer: String) throws {
        let n = h.rows
        self.perm = perm
        var a = [Float](unsafeUninitializedCapacity: n * n) { _, c in c = n * n }
        var dead = [Bool](repeating: false, count: n)
        var diagSum: Double = 0
        let threads = max(1, min(ProcessInfo.processInfo.activeProcessorCount, n))
        h.values.withUnsafeBufferPointer { hp in
            a.withUnsafeMutableBufferPointer { ap in
                perm.withUnsafeBufferPointer { pp in
                    // a = flip(Hp): a[k] = Hp_flat[n²−1−k], i.e. column-major P Hp P. Rows split over the cores.
                    let (source, target, order) = (
                        SharedPointer(UnsafeMutablePointer(mutating: hp.baseAddress!)), SharedPointer(ap.baseAddress!),
                        SharedPointer(UnsafeMutablePointer(mutating: pp.baseAddress!))
                    )
                    DispatchQueue.concurrentPerform(iterations: threads) { t in
                        for r in (t * n / threads)..<((t + 1) * n / threads) {
                            let src = source.base + order.base[r] * n
                            let dst = target.base + (n * n - 1 - r * n)
                            for c in 0..<n { dst[-c] = src[order.base[c]] }
                        }
                    }
                }
            }
            for j in 0..<n {
                let v = hp[perm[j] * n + perm[j]]
                dead[j] = v == 0
                diagSum += Double(abs(v))
            }
        }
        let lambda = Float(percdamp) * Float(diagSum / Double(n))
        for j in 0..<n {
            let k = n * n - 1 - (j * n + j)
            if dead[j] { a[k] = 1 } else if percdamp > 0 { a[k] += lambda }
        }
        var info = a.withUnsafeMutableBufferPointer { BLAS.potrfUpper($0.baseAddress!, n: n) }
        if info != 0 {
            let where_ = info > 0 ? " (it fails at input column \(perm[n - Int(info)]))" : ""
            throw SpQRError(
                .notPositiveDefinite,
                "layer \(layer): the Hessian is not positive definite after damping with percdamp \(percdamp)\(where_); "
                    + "raise percdamp (for example to 1.0) or check the calibration data")
        }
        info = a.withUnsafeMutableBufferPointer { BLAS.trtriUpper($0.baseAddress!, n: n) }
        if info != 0 {
            throw SpQRError(
                .notPositiveDefinite,
                "layer \(layer): the Cholesky factor of the damped Hessian is singular; raise percdamp (for example to 1.0)"
            )
        }
        // Column-major upper A⁻¹ → row-major U = flip(A⁻¹); clear the untouched lower triangle first.
        a.withUnsafeMutableBufferPointer { ap in
            let p = SharedPointer(ap.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                for c in (t * n / threads)..<((t + 1) * n / threads) {
                    for r in (c + 1)..<max(n, c + 1) { p.base[r + c * n] = 0 }
                }
            }
            // Swap k with n²−1−k for k below the middle, in one range per core.
            let half = n * n / 2
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                for k in (t * half / threads)..<((t + 1) * half / threads) { p.base.swapAt(k, n * n - 1 - k) }
            }
        }
        var d = [Float](repeating: 0, count: n)
        for j in 0..<n {
            d[j] = a[j * n + j]
            if !(d[j].isFinite && d[j] > 0) {
                throw SpQRError(
                    .notPositiveDefinite,
                    "layer \(layer): the inverse Hessian factor is not finite at input column \(perm[j]); raise percdamp (for example to 1.0)"
                )
            }
        }
        self.dead = dead
        self.lambda = lambda
        self.u = a
        self.d = d
    }

    /// Number of input columns.
    public var count: Int { d.count }
}
