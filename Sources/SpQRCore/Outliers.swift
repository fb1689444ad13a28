// Unstructured outlier detection of SpQR (paper §3.2, Algorithm 1; reference `spqr_engine.py`).
//
// Threshold, once per layer (after permutation and dead-column zeroing):
//     τ = outlier_threshold · mean_j ( Var_i(Wp[i,j]) / d_j² )          unbiased variance over rows
//
// Leave-one-out pre-pass at each group start (skipped with simplified_outliers or τ = ∞), per row i of
// the group's current weights G [out, g], with RTN a plain `wbits` min–max quantizer:
//     base_i  = Σ_j ((G_ij − RTN_G(G_ij)) / d_j)²
//     loo_ik  = Σ_{j≠k} ((G_ij − RTN_{G∖k}(G_ij)) / d_j)²          (quantizer refit without column k)
//     candidate(i,k) ⇔ base_i − loo_ik > τ
// Candidates are replaced by the mean of the row's other values before the real quantizer is fitted.
//
// Per weight (section 5b of the reference notes): e = (w − Q(w)) / d_j; an outlier when e² > τ.
//
// Refitting without column k changes the quantizer only when k holds the row's minimum or maximum, so
// loo_ik = base_i − ((G_ik − RTN_G(G_ik)) / d_k)² for every other k: the pass costs O(g) per row instead
// of the reference's O(g²), with the same result up to float summation order.

/// The absolute outlier threshold τ of a layer.
public enum OutlierThreshold {
    /// mean_j Var_i(Wp[i, j]) / d_j² over the permuted, dead-zeroed weights (the `outlier_scale` of the
    /// reference); multiply by outlier_threshold to get τ. Computed from W in its original order (a dead
    /// column, zeroed, has no variance). NaN for a single-row layer (no variance).
    public static func scale(weights w: Matrix, factor: HessianFactor) -> Double {
        let rows = w.rows
        let cols = w.cols
        guard rows > 1 else { return .nan }
        var sum = [Double](repeating: 0, count: cols)
        var sumSq = [Double](repeating: 0, count: cols)
        w.values.withUnsafeBufferPointer { p in
            for r in 0..<rows {
                let row = p.baseAddress! + r * cols
                for c in 0..<cols {
                    let v = Double(row[c])
                    sum[c] += v
                    sumSq[c] += v * v
                }
            }
        }
        var total: Double = 0
        for k in 0..<cols where !factor.dead[k] {
            let c = factor.perm[k]
            let mean = sum[c] / Double(rows)
            let variance = Swift.max(0, (sumSq[c] - Double(rows) * mean * mean) / Double(rows - 1))
            let dk = Double(factor.d[k])
            total += variance / (dk * dk)
        }
        return total / Double(cols)
    }
}

/// The leave-one-out pre-pass for one row of one group.
enum LeaveOneOut {
    /// Marks `candidate[k]` for every k with base − loo_k > τ and returns how many were marked.
    /// `g` values at `x`, their d_j at `d`; `scratch` holds at least g floats.
    @inline(__always)
    static func candidates(
        x: UnsafePointer<Float>, d: UnsafePointer<Float>, g: Int, bits: Int, sym: Bool,
        tau: Float, candidate: UnsafeMutablePointer<Bool>, scratch: UnsafeMutablePointer<Float>
    ) -> Int {
        // Smallest and largest value, their positions, and the runner-up values.
        var min1 = Float.infinity
        var min2 = Float.infinity
        var max1 = -Float.infinity
        var max2 = -Float.infinity
        var argMin = 0
        var argMax = 0
        for j in 0..<g {
            let v = x[j]
            if v < min1 {
                min2 = min1
                min1 = v
                argMin = j
            } else if v < min2 {
                min2 = v
            }
            if v > max1 {
                max2 = max1
                max1 = v
                argMax = j
            } else if v > max2 {
                max2 = v
            }
        }
        let base = MinMaxQuantizer(xmin: min1, xmax: max1, bits: bits, sym: sym, roundZero: false)
        var baseError: Float = 0
        for j in 0..<g {
            let e = (base(x[j]) - x[j]) / d[j]
            scratch[j] = e * e
            baseError += scratch[j]
        }
        var count = 0
        for k in 0..<g {
            let reduction: Float
            if g == 1 {
                reduction = baseError
            } else if k == argMin || k == argMax {
                let lo = k == argMin ? min2 : min1
                let hi = k == argMax ? max2 : max1
                let q = MinMaxQuantizer(xmin: lo, xmax: hi, bits: bits, sym: sym, roundZero: false)
                var loo: Float = 0
                for j in 0..<g where j != k {
                    let e = (q(x[j]) - x[j]) / d[j]
                    loo += e * e
                }
                reduction = baseError - loo
            } else {
                reduction = scratch[k]
            }
            let isCandidate = reduction > tau
            candidate[k] = isCandidate
            if isCandidate { count += 1 }
        }
        return count
    }
}

/// Per-thread scratch of the group fits (GroupFit.swift): candidate flags, per-weight errors and the group
/// with its candidates replaced, for one row and for eight rows in lanes.
struct LeaveOneOutScratch {
    let candidate: UnsafeMutablePointer<Bool>
    let errors: UnsafeMutablePointer<Float>
    let replaced: UnsafeMutablePointer<Float>
    let candidateLanes: UnsafeMutablePointer<SIMDMask<SIMD8<Int32>>>
    /// Columns of eight rows (`columnLanes`), their errors and their replaced values, g vectors each.
    let columnLanes: UnsafeMutablePointer<SIMD8<Float>>
    let errorLanes: UnsafeMutablePointer<SIMD8<Float>>
    let replacedLanes: UnsafeMutablePointer<SIMD8<Float>>
    /// One row's g values gathered from a column-major panel.
    let rowValues: UnsafeMutablePointer<Float>

    init(groupsize g: Int) {
        candidate = .allocate(capacity: g + 1)
        errors = .allocate(capacity: 2 * g + 1)
        replaced = errors + g
        candidateLanes = .allocate(capacity: g + 1)
        columnLanes = .allocate(capacity: 3 * g + 1)
        errorLanes = columnLanes + g
        replacedLanes = errorLanes + g
        rowValues = .allocate(capacity: g + 1)
    }

    func deallocate() {
        candidate.deallocate()
        errors.deallocate()
        candidateLanes.deallocate()
        columnLanes.deallocate()
        rowValues.deallocate()
    }
}
