// Where a layer's outliers and error concentrate. For a cluster C of weights of an out × in layer — a
// whole row (output channel), a whole column (input feature), an attention head (head_dim rows of q/k/v,
// head_dim columns of o) or a quantization group (groupsize consecutive columns in the order GPTQ
// processed them, W[:, perm]) —
//
//     size share      s_C = |C| / (out · in)
//     outlier share   o_C = #outliers in C / #outliers
//     error share     e_C = Σ_{(i,j) ∈ C} err_ij / Σ err_ij           (err: the per-weight error contribution)
//     concentration   o_C / s_C and e_C / s_C                          (1 = spread uniformly)
//
// and clusters rank by the larger of the two ratios: how far above uniform they are. The SpQR paper
// (§3, Figure 3) finds outliers in such structures — rows, columns (input features), attention heads —
// which is what the ranking names. Every figure comes from the row and column marginals (sums of the
// outlier mask and of the error over each row and column), so a ranking costs O(out + in).

/// The row and column sums of a layer's outlier mask and per-weight error.
public struct LayerMarginals: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    /// Outliers per row and per column.
    public let rowOutliers: [Int]
    public let colOutliers: [Int]
    /// Σ error per row and per column, and in total.
    public let rowError: [Double]
    public let colError: [Double]
    public let totalError: Double

    /// Sums the row-major rows × cols `mask` (non-zero: outlier) and `error`.
    public init(rows: Int, cols: Int, mask: [UInt8], error: [Float]) {
        precondition(mask.count == rows * cols && error.count == rows * cols, "maps must be rows × cols")
        self.rows = rows
        self.cols = cols
        var rowOutliers = [Int](repeating: 0, count: rows)
        var colOutliers = [Int](repeating: 0, count: cols)
        var rowError = [Double](repeating: 0, count: rows)
        var colError = [Double](repeating: 0, count: cols)
        mask.withUnsafeBufferPointer { m in
            error.withUnsafeBufferPointer { e in
                for r in 0..<rows {
                    var rowSum = 0.0
                    var rowCount = 0
                    for c in 0..<cols {
                        let k = r * cols + c
                        if m[k] != 0 {
                            rowCount += 1
                            colOutliers[c] += 1
                        }
                        rowSum += Double(e[k])
                        colError[c] += Double(e[k])
                    }
                    rowOutliers[r] = rowCount
                    rowError[r] = rowSum
                }
            }
        }
        self.rowOutliers = rowOutliers
        self.colOutliers = colOutliers
        self.rowError = rowError
        self.colError = colError
        totalError = rowError.reduce(0, +)
    }

    /// Number of outliers in the layer.
    public var totalOutliers: Int { rowOutliers.reduce(0, +) }
}

/// How a layer splits into attention heads: head_dim-sized ranges of rows (q, k, v) or of columns (o).
public struct HeadLayout: Sendable, Hashable {
    public enum Axis: String, Sendable { case rows, columns }
    public var axis: Axis
    public var headDim: Int

    public init(axis: Axis, headDim: Int) {
        self.axis = axis
        self.headDim = headDim
    }
}

/// A cluster of weights and how much of the outliers and error it holds.
public struct Cluster: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case row, column, head, group
    }

    /// The order of the columns in which `columns` is a contiguous range.
    public enum ColumnOrder: String, Sendable {
        /// The layer's own column order.
        case original
        /// The order GPTQ processed the columns in (W[:, perm], e.g. act_order).
        case processing
    }

    public var kind: Kind
    /// The row, column, head or group number.
    public var index: Int
    public var rows: Range<Int>
    public var columns: Range<Int>
    public var columnOrder: ColumnOrder
    /// s_C, o_C and e_C (formulas at the top of the file).
    public var sizeShare: Double
    public var outlierShare: Double
    public var errorShare: Double

    /// o_C / s_C (0 without outliers).
    public var outlierRatio: Double { sizeShare > 0 ? outlierShare / sizeShare : 0 }
    /// e_C / s_C (0 without error).
    public var errorRatio: Double { sizeShare > 0 ? errorShare / sizeShare : 0 }
    /// How far above uniform: the larger ratio.
    public var score: Double { max(outlierRatio, errorRatio) }
}

/// Ranks the rows, columns, heads and groups of a layer by concentration.
public enum ClusterRanking {
    /// Every cluster of every kind whose score exceeds 1 (above uniform, beyond rounding), at most
    /// `perKind` of each kind (the highest scores), sorted by score (ties: the larger cluster, then kind,
    /// then index). Heads need `heads` (nil: none ranked) whose head_dim divides the axis; groups need
    /// `groupsize` and the processing order `perm` (perm[k] is the column processed k-th; identity when nil).
    public static func rank(
        _ m: LayerMarginals, heads: HeadLayout? = nil, groupsize: Int? = nil, perm: [Int]? = nil, perKind: Int = 8
    ) -> [Cluster] {
        let weights = Double(m.rows) * Double(m.cols)
        guard weights > 0 else { return [] }
        let outliers = Double(m.totalOutliers)
        func cluster(
            _ kind: Cluster.Kind, _ index: Int, rows: Range<Int>, cols: Range<Int>, order: Cluster.ColumnOrder,
            outliers o: Int, error e: Double
        ) -> Cluster {
            Cluster(
                kind: kind, index: index, rows: rows, columns: cols, columnOrder: order,
                sizeShare: Double(rows.count) * Double(cols.count) / weights,
                outlierShare: outliers > 0 ? Double(o) / outliers : 0,
                errorShare: m.totalError > 0 ? e / m.totalError : 0)
        }
        let allRows = 0..<m.rows
        let allCols = 0..<m.cols
        var byKind: [[Cluster]] = []
        byKind.append(
            (0..<m.rows).map {
                cluster(
                    .row, $0, rows: $0..<$0 + 1, cols: allCols, order: .original, outliers: m.rowOutliers[$0],
                    error: m.rowError[$0])
            })
        byKind.append(
            (0..<m.cols).map {
                cluster(
                    .column, $0, rows: allRows, cols: $0..<$0 + 1, order: .original, outliers: m.colOutliers[$0],
                    error: m.colError[$0])
            })
        if let h = heads, h.headDim > 0 {
            let along = h.axis == .rows ? m.rows : m.cols
            if along % h.headDim == 0 {
                byKind.append(
                    (0..<along / h.headDim).map { i in
                        let r = i * h.headDim..<(i + 1) * h.headDim
                        return h.axis == .rows
                            ? cluster(
                                .head, i, rows: r, cols: allCols, order: .original,
                                outliers: m.rowOutliers[r].reduce(0, +), error: m.rowError[r].reduce(0, +))
                            : cluster(
                                .head, i, rows: allRows, cols: r, order: .original,
                                outliers: m.colOutliers[r].reduce(0, +), error: m.colError[r].reduce(0, +))
                    })
            }
        }
        if let g = groupsize, g > 0, g < m.cols {
            let order = perm ?? Array(allCols)
            byKind.append(
                stride(from: 0, to: m.cols, by: g).enumerated().map { i, start in
                    let r = start..<min(start + g, m.cols)
                    return cluster(
                        .group, i, rows: allRows, cols: r, order: .processing,
                        outliers: r.reduce(0) { $0 + m.colOutliers[order[$1]] },
                        error: r.reduce(0.0) { $0 + m.colError[order[$1]] })
                })
        }
        let kinds = Cluster.Kind.allCases
        // At equal scores the larger cluster is the better description (a head whose rows are alike
        // ranks before its rows).
        func before(_ a: Cluster, _ b: Cluster) -> Bool {
            if a.score != b.score { return a.score > b.score }
            if a.sizeShare != b.sizeShare { return a.sizeShare > b.sizeShare }
            let ka = kinds.firstIndex(of: a.kind)!
            let kb = kinds.firstIndex(of: b.kind)!
            return ka != kb ? ka < kb : a.index < b.index
        }
        return byKind.flatMap { $0.filter { $0.score > 1 + 1e-9 }.sorted(by: before).prefix(perKind) }.sorted(
            by: before)
    }
}
