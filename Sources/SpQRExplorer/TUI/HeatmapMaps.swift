// The per-weight maps of a quantized layer, prepared for drawing: the values of each mode per weight,
// pooled per viewport on demand (see HeatmapPooling.swift, which keeps the pooled views of recent
// viewports), row and column marginals (outlier counts, error share) that make clusters — whole
// rows, columns, heads — visible, and the same maps with the columns in the order GPTQ processed them
// (act_order: the loud input features first), where the outliers of those features line up.

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
    /// Outliers and Σ error contribution per row and per column (SpQRCore's ClusterRanking.swift).
    let marginals: LayerMarginals
    /// The order GPTQ processed the columns in: column `columnOrder[k]` was processed k-th.
    let columnOrder: [Int]
    /// The groupsize of the run (nil: one group per row).
    let groupsize: Int?
    /// The file's column shown at each column position (nil: the file's order).
    let shownColumns: [Int]?
    private let cache: PooledViewCache
    private let derived = DerivedMapsCache()

    // The marginals' parts, stored: the views index them in loops over every row.
    let rowOutliers: [Int]
    let colOutliers: [Int]
    let rowError: [Double]
    let colError: [Double]
    let totalError: Double
    /// The three rows and the three columns with the most error, most first (found once, not every frame).
    let mostErrorRows: [Int]
    let mostErrorCols: [Int]

    /// The value of one weight in `mode`.
    @inline(__always)
    func value(_ mode: HeatmapMode, _ r: Int, _ c: Int) -> Float { read(mode, r * cols + c) }

    /// Builds the maps from a full result and the original weights; with `poolInBackground`, views not
    /// pooled yet are pooled off the calling thread (`readyView`).
    init(result: SpQRResult, weights w: Matrix, poolInBackground: Bool = false) {
        self.init(
            rows: w.rows, cols: w.cols, weights: w.values, quantized: result.dequantized.values,
            mask: result.outlierMask,
            sensitivity: result.sensitivity, error: result.errorContribution, columnOrder: result.permutation,
            groupsize: result.config.groupsize, poolInBackground: poolInBackground)
    }

    /// Builds the maps from per-weight values, each row-major rows × cols, processed in `columnOrder`
    /// (identity when nil) in groups of `groupsize` columns.
    init(
        rows: Int, cols: Int, weights: [Float], quantized: [Float], mask: [UInt8], sensitivity: [Float], error: [Float],
        columnOrder: [Int]? = nil, groupsize: Int? = nil, shownColumns: [Int]? = nil, poolInBackground: Bool = false
    ) {
        cache = PooledViewCache(background: poolInBackground)
        self.rows = rows
        self.cols = cols
        self.weights = weights
        self.quantized = quantized
        self.mask = mask
        self.sensitivity = sensitivity
        self.error = error
        self.columnOrder = columnOrder ?? Array(0..<cols)
        self.groupsize = groupsize
        self.shownColumns = shownColumns
        marginals = LayerMarginals(rows: rows, cols: cols, mask: mask, error: error)
        rowOutliers = marginals.rowOutliers
        colOutliers = marginals.colOutliers
        rowError = marginals.rowError
        colError = marginals.colError
        totalError = marginals.totalError
        mostErrorRows = Self.largest(3, of: rowError)
        mostErrorCols = Self.largest(3, of: colError)
    }

    /// The same maps with the columns in processing order (column k of the result is column
    /// `columnOrder[k]` here), built once on first use; itself when the order is the identity.
    func inProcessingOrder() -> HeatmapMaps {
        if columnOrder.enumerated().allSatisfy({ $0 == $1 }) { return self }
        return derived.permuted {
            let order = columnOrder
            func permute<T>(_ a: [T]) -> [T] {
                var out = [T]()
                out.reserveCapacity(a.count)
                for r in 0..<rows {
                    let base = r * cols
                    for k in 0..<cols { out.append(a[base + order[k]]) }
                }
                return out
            }
            return HeatmapMaps(
                rows: rows, cols: cols, weights: permute(weights), quantized: permute(quantized), mask: permute(mask),
                sensitivity: permute(sensitivity), error: permute(error), columnOrder: nil, groupsize: groupsize,
                shownColumns: order, poolInBackground: cache.background)
        }
    }

    /// The rows, columns, heads (split by `heads`) and groups ranked by concentration, computed once per
    /// head layout.
    func clusters(heads: HeadLayout?) -> [Cluster] {
        derived.clusters(heads) {
            ClusterRanking.rank(marginals, heads: heads, groupsize: groupsize, perm: columnOrder)
        }
    }

    /// The indices of the `k` largest values, largest first (ties: lower index first), in one pass.
    static func largest(_ k: Int, of v: [Double]) -> [Int] {
        var top: [Int] = []
        for i in v.indices {
            guard top.count < k || v[i] > v[top[top.count - 1]] else { continue }
            let at = top.firstIndex { v[i] > v[$0] } ?? top.count
            top.insert(i, at: at)
            if top.count > k { top.removeLast() }
        }
        return top
    }

    /// The file's column at column position `c`.
    func fileColumn(_ c: Int) -> Int { shownColumns?[c] ?? c }

    /// Whether two values are the same maps (copies of one result's maps).
    func isSame(_ other: HeatmapMaps) -> Bool { cache === other.cache }

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

/// What is derived from one `HeatmapMaps` on first use and shared by its copies: the column-permuted
/// maps and the cluster rankings.
final class DerivedMapsCache: @unchecked Sendable {
    private let lock = NSLock()
    private var permutedMaps: HeatmapMaps?
    private var rankings: [HeadLayout?: [Cluster]] = [:]

    func permuted(_ build: () -> HeatmapMaps) -> HeatmapMaps {
        lock.lock()
        defer { lock.unlock() }
        if let permutedMaps { return permutedMaps }
        let m = build()
        permutedMaps = m
        return m
    }

    func clusters(_ heads: HeadLayout?, _ build: () -> [Cluster]) -> [Cluster] {
        lock.lock()
        defer { lock.unlock() }
        if let r = rankings[heads] { return r }
        let r = build()
        rankings[heads] = r
        return r
    }
}
