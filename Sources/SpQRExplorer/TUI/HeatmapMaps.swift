// The per-weight maps of a quantized layer, prepared for drawing: a pooled copy of each map (max-pooled
// for outliers, mean-pooled for dense maps) at about 512×512, so that drawing the whole matrix costs a
// few thousand reads; full-resolution values are read only when zoomed in. Row and column marginals
// (outlier counts, error share) make clusters — whole rows, columns, heads — visible.

import Foundation
import SpQRCore

/// The maps of one full result.
struct HeatmapMaps: Sendable {
    let rows: Int
    let cols: Int
    let weights: [Float]
    let quantized: [Float]
    let mask: [UInt8]
    let sensitivity: [Float]
    let error: [Float]
    /// Side of the pooling block.
    let block: Int
    let pooledRows: Int
    let pooledCols: Int
    /// Pooled maps by mode (row-major pooledRows × pooledCols).
    let pooled: [HeatmapMode: [Float]]
    /// Smallest positive and largest value (largest |value| for signed maps) by mode.
    let ranges: [HeatmapMode: (lo: Float, hi: Float)]
    let rowOutliers: [Int]
    let colOutliers: [Int]
    /// Σ error contribution per row and per column, and in total.
    let rowError: [Double]
    let colError: [Double]
    let totalError: Double

    /// The value of one weight in `mode`.
    @inline(__always)
    func value(_ mode: HeatmapMode, _ r: Int, _ c: Int) -> Float {
        Self.read(mode, weights, quantized, mask, sensitivity, error, r * cols + c)
    }

    /// Builds the maps from a full result and the original weights.
    init(result: SpQRResult, weights w: Matrix, targetSide: Int = 512) {
        rows = w.rows
        cols = w.cols
        weights = w.values
        quantized = result.dequantized.values
        mask = result.outlierMask
        sensitivity = result.sensitivity
        error = result.errorContribution
        let b = max(1, (max(rows, cols) + targetSide - 1) / targetSide)
        block = b
        pooledRows = (rows + b - 1) / b
        pooledCols = (cols + b - 1) / b
        var pooled: [HeatmapMode: [Float]] = [:]
        var ranges: [HeatmapMode: (lo: Float, hi: Float)] = [:]
        var rowOutliers = [Int](repeating: 0, count: rows), colOutliers = [Int](repeating: 0, count: cols)
        var rowError = [Double](repeating: 0, count: rows), colError = [Double](repeating: 0, count: cols)
        for r in 0..<rows {
            for c in 0..<cols {
                let k = r * cols + c
                if mask[k] != 0 { rowOutliers[r] += 1; colOutliers[c] += 1 }
                rowError[r] += Double(error[k])
                colError[c] += Double(error[k])
            }
        }
        self.rowOutliers = rowOutliers
        self.colOutliers = colOutliers
        self.rowError = rowError
        self.colError = colError
        totalError = rowError.reduce(0, +)
        for mode in HeatmapMode.allCases {
            var out = [Float](repeating: 0, count: pooledRows * pooledCols)
            var counts = [Float](repeating: 0, count: pooledRows * pooledCols)
            var lo = Float.infinity, hi: Float = 0
            for r in 0..<rows {
                let pr = r / b
                for c in 0..<cols {
                    let v = Self.read(mode, weights, quantized, mask, sensitivity, error, r * cols + c)
                    let p = pr * pooledCols + c / b
                    if mode.maxPooled { out[p] = max(out[p], v) } else { out[p] += v; counts[p] += 1 }
                    let m = mode.signed ? abs(v) : v
                    if m > 0 { lo = min(lo, m) }
                    hi = max(hi, m)
                }
            }
            if !mode.maxPooled { for p in out.indices where counts[p] > 0 { out[p] /= counts[p] } }
            pooled[mode] = out
            ranges[mode] = (lo.isFinite ? lo : 0, hi)
        }
        self.pooled = pooled
        self.ranges = ranges
    }

    @inline(__always)
    private static func read(_ mode: HeatmapMode, _ w: [Float], _ q: [Float], _ m: [UInt8], _ s: [Float], _ e: [Float], _ k: Int) -> Float {
        switch mode {
        case .weight: return abs(w[k])
        case .sensitivity: return s[k]
        case .outliers: return Float(m[k])
        case .error: return e[k]
        case .delta: return q[k] - w[k]
        }
    }

    /// The pooled value of rows [r0, r1) × columns [c0, c1) (max or mean by mode).
    func region(_ mode: HeatmapMode, _ r0: Int, _ r1: Int, _ c0: Int, _ c1: Int) -> Float {
        let r1 = max(r1, r0 + 1), c1 = max(c1, c0 + 1)
        var acc: Float = 0, n: Float = 0
        if r1 - r0 >= block && c1 - c0 >= block, let p = pooled[mode] {
            for pr in (r0 / block)..<min(pooledRows, (r1 + block - 1) / block) {
                for pc in (c0 / block)..<min(pooledCols, (c1 + block - 1) / block) {
                    let v = p[pr * pooledCols + pc]
                    if mode.maxPooled { acc = max(acc, v) } else { acc += v; n += 1 }
                }
            }
        } else {
            for r in r0..<min(r1, rows) {
                for c in c0..<min(c1, cols) {
                    let v = value(mode, r, c)
                    if mode.maxPooled { acc = max(acc, v) } else { acc += v; n += 1 }
                }
            }
        }
        return mode.maxPooled ? acc : (n > 0 ? acc / n : 0)
    }

    /// Whether the colour scale of `mode` is logarithmic (the values span more than two decades).
    func logScale(_ mode: HeatmapMode) -> Bool {
        guard !mode.maxPooled, !mode.signed, let r = ranges[mode], r.lo > 0 else { return false }
        return r.hi / r.lo > 100
    }

    /// Position of `v` on the colour scale of `mode`, in [0, 1].
    func scale(_ mode: HeatmapMode, _ v: Float) -> Float {
        guard let r = ranges[mode], r.hi > 0 else { return 0 }
        if mode.signed { return min(1, max(0, 0.5 + 0.5 * v / r.hi)) }
        if mode.maxPooled { return v > 0 ? 1 : 0 }
        if logScale(mode) {
            let lo = log10(max(r.lo, r.hi * 1e-8)), hi = log10(r.hi)
            return v <= 0 ? 0 : min(1, max(0, (log10(v) - lo) / (hi - lo)))
        }
        return min(1, max(0, v / r.hi))
    }
}
