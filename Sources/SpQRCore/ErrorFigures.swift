// Error figures of a quantized layer (reference notes §10).
//
//     relative weight error        ‖W − Q‖_F / ‖W‖_F
//     relative proxy output error  tr(ΔW H ΔWᵀ) / tr(W H Wᵀ),   ΔW = W − Q, H undamped
//     sensitivity concentration    Σ of the largest 1% of sensitivities / Σ of all sensitivities
//     error concentration          Σ of the largest 1% of final per-weight errors / Σ of all of them
//
// The proxy error is the expected squared output error over the calibration inputs (H = 2XᵀX/n). For a
// GPTQ run it need not be recomputed from H: with Hd = Hp + λ·I on live columns and 1 on dead ones,
//     Σ e² = tr(ΔWp Hd ΔWpᵀ)   ⇒   tr(ΔW H ΔWᵀ) = Σ e² − λ·‖ΔWp[:, live]‖² − ‖ΔWp[:, dead]‖²
// (dead columns have zero rows in H). Sensitivity concentration is the paper's observation that under 1% of
// the weights cause most of the error (SpQR §3, Figure 2), measured on the sensitivity map (e² before any
// outlier is kept): a property of the layer at its settings. Error concentration is measured on a method's
// final error map (SpQR's error contribution, 0 at outliers; a baseline's own errors): how unevenly the
// error that remains is spread.
//
// The sums over a run's maps (both norms of the weight error, the total of a concentration) are lane sums
// (LaneSum.swift): an order fixed by position, eight sums at a time.

import Dispatch

/// Error measures shared by SpQR runs and the baselines.
public enum ErrorFigures {
    /// ‖a − b‖_F / ‖a‖_F; 0 when a is zero and equal to b.
    public static func relativeWeightError(original a: [Float], quantized b: [Float]) -> Double {
        let (num, den) = squaredNorms(original: a, quantized: b)
        return den > 0 ? (num / den).squareRoot() : (num > 0 ? .infinity : 0)
    }

    /// ‖a − b‖² and ‖a‖², each a lane sum over the flat index (LaneSum.swift).
    static func squaredNorms(original a: [Float], quantized b: [Float]) -> (difference: Double, original: Double) {
        precondition(a.count == b.count)
        var num = LaneSum()
        var den = LaneSum()
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                var k = 0
                while k + 8 <= ap.count {
                    let x = SIMD8<Double>(UnsafeRawPointer(ap.baseAddress! + k).loadUnaligned(as: SIMD8<Float>.self))
                    let dlt =
                        x - SIMD8<Double>(UnsafeRawPointer(bp.baseAddress! + k).loadUnaligned(as: SIMD8<Float>.self))
                    num.add(dlt * dlt)
                    den.add(x * x)
                    k += 8
                }
                while k < ap.count {
                    let x = Double(ap[k])
                    let dlt = x - Double(bp[k])
                    num.add(dlt * dlt, lane: k & 7)
                    den.add(x * x, lane: k & 7)
                    k += 1
                }
            }
        }
        return (num.total, den.total)
    }

    /// x_i H x_iᵀ for every row i of a [rows, n] matrix, blockwise with sgemm over the cores.
    public static func rowQuadraticForms(_ x: [Float], rows: Int, hessian h: Matrix) -> [Double] {
        let n = h.rows
        precondition(x.count == rows * n)
        let blockRows = 64
        let blocks = (rows + blockRows - 1) / blockRows
        var result = [Double](repeating: 0, count: rows)
        x.withUnsafeBufferPointer { xp in
            h.values.withUnsafeBufferPointer { hp in
                result.withUnsafeMutableBufferPointer { rp in
                    let X = SharedPointer(UnsafeMutablePointer(mutating: xp.baseAddress!))
                    let H = SharedPointer(UnsafeMutablePointer(mutating: hp.baseAddress!))
                    let R = SharedPointer(rp.baseAddress!)
                    DispatchQueue.concurrentPerform(iterations: blocks) { b in
                        let r0 = b * blockRows
                        let m = min(blockRows, rows - r0)
                        withUnsafeTemporaryAllocation(of: Float.self, capacity: m * n) { t in
                            let tp = t.baseAddress!
                            BLAS.sgemm(
                                m: m, n: n, k: n, alpha: 1, a: X.base + r0 * n, lda: n, b: H.base, ldb: n,
                                beta: 0, c: tp, ldc: n)
                            for i in 0..<m {
                                var acc: Double = 0
                                let xr = X.base + (r0 + i) * n
                                let tr = tp + i * n
                                for c in 0..<n { acc += Double(xr[c]) * Double(tr[c]) }
                                R.base[r0 + i] = acc
                            }
                        }
                    }
                }
            }
        }
        return result
    }

    /// tr(W H Wᵀ) = ⟨H, WᵀW⟩ over all rows: one ssyrk (out·in² flops, half of the row-wise products).
    public static func quadraticTrace(_ w: Matrix, hessian h: Matrix) -> Double {
        let n = w.cols
        var gram: [Float] = uninitializedArray(n * n)
        w.values.withUnsafeBufferPointer { wp in
            gram.withUnsafeMutableBufferPointer { gp in
                BLAS.syrkUpperAtA(n: n, k: w.rows, a: wp.baseAddress!, c: gp.baseAddress!)
            }
        }
        // total = Σ_i (H_ii G_ii + Σ_{j>i} (H_ij + H_ji) G_ij), each row's sum taken over j in order. Rows go
        // in bands of 16, j outermost within a band, so the column reads H_ji share cache lines (a walk down
        // one column of H alone misses on every read once a column of lines outgrows the cache).
        let band = 16
        var total: Double = 0
        var acc = [Double](repeating: 0, count: band)
        gram.withUnsafeBufferPointer { gp in
            h.values.withUnsafeBufferPointer { hp in
                var i0 = 0
                while i0 < n {
                    let i1 = min(i0 + band, n)
                    for k in 0..<band { acc[k] = 0 }
                    for j in (i0 + 1)..<max(n, i0 + 1) {
                        for i in i0..<min(i1, j) {
                            acc[i - i0] += Double(hp[i * n + j] + hp[j * n + i]) * Double(gp[i * n + j])
                        }
                    }
                    for i in i0..<i1 {
                        total += Double(hp[i * n + i]) * Double(gp[i * n + i])
                        total += acc[i - i0]
                    }
                    i0 = i1
                }
            }
        }
        return total
    }

    /// max(v, 0) of the eight values at `p`, lane by lane as Swift's `max` has it: −0 becomes +0, NaN stays.
    @inline(__always)
    private static func positivePart(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
        let x = UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
        return x.replacing(with: 0, where: x .<= 0)
    }

    /// The share of Σ v held by its largest 1% of entries (the concentration figures).
    public static func concentration(_ v: [Float]) -> Double { topShare(v, fraction: 0.01) }

    /// The share of Σ v held by its largest ⌈fraction · count⌉ entries (v ≥ 0), in O(count) without sorting:
    /// a two-pass radix selection on the float bit patterns, which order like the values for v ≥ 0.
    public static func topShare(_ v: [Float], fraction: Double) -> Double {
        guard !v.isEmpty else { return 0 }
        let k = max(1, Int((fraction * Double(v.count)).rounded(.up)))
        // Σ max(v, 0) over the flat index (LaneSum.swift) and the counts of the high half-words.
        var positive = LaneSum()
        var high = [Int](repeating: 0, count: 1 << 16)
        v.withUnsafeBufferPointer { p in
            high.withUnsafeMutableBufferPointer { h in
                var k = 0
                while k + 8 <= p.count {
                    let y = positivePart(p.baseAddress! + k)
                    positive.add(SIMD8<Double>(y))
                    let bins = unsafeBitCast(y, to: SIMD8<UInt32>.self) &>> 16
                    for l in 0..<8 { h[Int(bins[l])] += 1 }
                    k += 8
                }
                while k < p.count {
                    let y = max(p[k], 0)
                    positive.add(Double(y), lane: k & 7)
                    h[Int(y.bitPattern >> 16)] += 1
                    k += 1
                }
            }
        }
        let total = positive.total
        guard total > 0 else { return 0 }
        // The high half-word bin that holds the k-th largest value.
        var above = 0
        var bin = (1 << 16) - 1
        while bin > 0 && above + high[bin] < k {
            above += high[bin]
            bin -= 1
        }
        // The values above that bin summed in index order, and the low half-words of those in it. About
        // one value in a hundred is at or above the bin, so eight values are tested at once and only the
        // rare vector holding one is looked at value by value.
        var low = [Int](repeating: 0, count: 1 << 16)
        var sumAbove: Double = 0
        v.withUnsafeBufferPointer { p in
            func visit(_ y: Float) {
                let hb = Int(y.bitPattern >> 16)
                if hb > bin { sumAbove += Double(y) } else if hb == bin { low[Int(y.bitPattern & 0xFFFF)] += 1 }
            }
            let binLanes = SIMD8<UInt32>(repeating: UInt32(bin))
            var k = 0
            while k + 8 <= p.count {
                let y = positivePart(p.baseAddress! + k)
                if (unsafeBitCast(y, to: SIMD8<UInt32>.self) &>> 16 .>= binLanes).someSet {
                    for l in 0..<8 { visit(y[l]) }
                }
                k += 8
            }
            while k < p.count {
                visit(max(p[k], 0))
                k += 1
            }
        }
        var need = k - above
        var lb = (1 << 16) - 1
        var sum = sumAbove
        while need > 0 && lb >= 0 {
            let take = min(need, low[lb])
            if take > 0 {
                sum += Double(take) * Double(Float(bitPattern: UInt32(bin) << 16 | UInt32(lb)))
                need -= take
            }
            lb -= 1
        }
        return min(1, sum / total)
    }
}
