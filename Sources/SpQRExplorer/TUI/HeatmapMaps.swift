// The per-weight maps of a quantized layer, prepared for drawing: the values of each mode per weight,
// pooled per viewport on demand (see HeatmapPooling.swift, which keeps the pooled views of recent
// viewports), and row and column marginals (outlier counts, error share) that make clusters — whole
// rows, columns, heads — visible.

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
    let rowOutliers: [Int]
    let colOutliers: [Int]
    /// Σ error contribution per row and per column, and in total.
    let rowError: [Double]
    let colError: [Double]
    let totalError: Double
    /// The rows and the columns with the most error, most first (the panel lists them; found once here, off
    /// the input loop, rather than by sorting every row at each frame).
    let topRows: [Int]
    let topCols: [Int]
    /// How many of each `topRows` and `topCols` keep.
    static let topCount = 3
    private let cache: PooledViewCache

    /// The value of one weight in `mode`.
    @inline(__always)
    func value(_ mode: HeatmapMode, _ r: Int, _ c: Int) -> Float { read(mode, r * cols + c) }

    /// Builds the maps from a full result and the original weights; with `poolInBackground`, views not
    /// pooled yet are pooled off the calling thread (`readyView`).
    init(result: SpQRResult, weights w: Matrix, poolInBackground: Bool = false) {
        self.init(
            rows: w.rows, cols: w.cols, weights: w.values, quantized: result.dequantized.values,
            mask: result.outlierMask,
            sensitivity: result.sensitivity, error: result.errorContribution, poolInBackground: poolInBackground)
    }

    /// Builds the maps from per-weight values, each row-major rows × cols.
    init(
        rows: Int, cols: Int, weights: [Float], quantized: [Float], mask: [UInt8], sensitivity: [Float], error: [Float],
        poolInBackground: Bool = false
    ) {
        cache = PooledViewCache(background: poolInBackground)
        self.rows = rows
        self.cols = cols
        self.weights = weights
        self.quantized = quantized
        self.mask = mask
        self.sensitivity = sensitivity
        self.error = error
        var rowOutliers = [Int](repeating: 0, count: rows)
        var colOutliers = [Int](repeating: 0, count: cols)
        var rowError = [Double](repeating: 0, count: rows)
        var colError = [Double](repeating: 0, count: cols)
        for r in 0..<rows {
            for c in 0..<cols {
                let k = r * cols + c
                if mask[k] != 0 {
                    rowOutliers[r] += 1
                    colOutliers[c] += 1
                }
                rowError[r] += Double(error[k])
                colError[c] += Double(error[k])
            }
        }
        self.rowOutliers = rowOutliers
        self.colOutliers = colOutliers
        self.rowError = rowError
        self.colError = colError
        totalError = rowError.reduce(0, +)
        topRows = Self.largest(rowError, Self.topCount)
        topCols = Self.largest(colError, Self.topCount)
    }

    /// The indices of the `k` largest values, largest first (the lower index first among equal values), in
    /// one pass.
    static func largest(_ v: [Double], _ k: Int) -> [Int] {
        var top: [Int] = []
        for i in v.indices {
            guard top.count < k || v[i] > v[top[top.count - 1]] else { continue }
            var j = top.count
            while j > 0 && v[i] > v[top[j - 1]] { j -= 1 }
            top.insert(i, at: j)
            if top.count > k { top.removeLast() }
        }
        return top
    }

    /// The value of weight `k` (row-major) in `mode`.
    @inline(__always)
    func read(_ mode: HeatmapMode, _ k: Int) -> Float {
        switch mode {
        case .weight: return abs(weights[k])
        case .sensitivity: return sensitivity[k]
        case .outliers: return Float(mask[k])
        case .error: return error[k]
        case .delta: return quantized[k] - weights[k]
        }
    }

    /// The pooled values of `mode` under each pixel of `g`, and the scale fitted to them.
    func view(_ mode: HeatmapMode, _ pooling: Pooling, _ g: HeatmapGeometry) -> PooledView {
        cache.view(self, mode, pooling, g)
    }

    /// The scale of the whole matrix (zoom 1) in the same area: the same colours at every zoom level.
    func wholeLayerScale(_ mode: HeatmapMode, _ pooling: Pooling, _ g: HeatmapGeometry) -> HeatmapScale {
        cache.view(self, mode, pooling, wholeLayer(g)).scale
    }

    /// The pooled view when it is ready; nil while it is pooled in the background (see `init`).
    func readyView(_ mode: HeatmapMode, _ pooling: Pooling, _ g: HeatmapGeometry) -> PooledView? {
        cache.ready(self, mode, pooling, g)
    }

    /// The whole layer's scale when it is ready (see `readyView`).
    func readyWholeLayerScale(_ mode: HeatmapMode, _ pooling: Pooling, _ g: HeatmapGeometry) -> HeatmapScale? {
        cache.ready(self, mode, pooling, wholeLayer(g))?.scale
    }

    /// The geometry of the whole matrix (zoom 1) in the area of `g`.
    private func wholeLayer(_ g: HeatmapGeometry) -> HeatmapGeometry {
        HeatmapGeometry(rows: rows, cols: cols, area: g.area, viewport: Viewport())
    }
}
