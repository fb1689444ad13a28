// The clusters panel (key `C`, in place of the settings panel): the open layer's rows, columns,
// attention heads and quantization groups whose share of the outliers or of the error is furthest above
// their share of the weights (SpQRCore's ClusterRanking.swift), each with both shares and both ratios.

import Foundation
import SpQRCore

/// What the clusters panel draws.
struct ClusterPanelModel {
    var clusters: [Cluster]
    var selection: Int
    /// How the layer splits into heads (nil: not an attention projection, or no head count in the files).
    var heads: HeadLayout?
    var groupsize: Int?
    var permutationOrder: PermutationOrder
    /// Whether the heatmap shows the columns in processing order.
    var processingOrder: Bool
    /// Whether a full result exists yet.
    var measured: Bool
    var unicode: Bool
}

extension ClusterPanelModel {
    init(_ s: AppState, _ layer: LayerSession) {
        self.init(
            clusters: s.clusters, selection: s.clusterState.selection,
            heads: s.clusterState.heads?.layout(layer: layer.name, shape: layer.row.shape),
            groupsize: layer.maps?.groupsize, permutationOrder: s.settings.permutationOrder,
            processingOrder: s.clusterState.processingOrder, measured: layer.maps != nil,
            unicode: s.capabilities.unicode)
    }
}

enum ClusterPanelView {
    /// A cluster's name as the panel and the status line give it.
    static func name(_ c: Cluster) -> String {
        switch c.kind {
        case .row: return "row \(c.index)"
        case .column: return "column \(c.index)"
        case .head:
            let r = c.rows.count < c.columns.count ? c.rows : c.columns
            return "head \(c.index) (\(r == c.rows ? "rows" : "cols") \(r.lowerBound)–\(r.upperBound - 1))"
        case .group: return "group \(c.index) (GPTQ \(c.columns.lowerBound)–\(c.columns.upperBound - 1))"
        }
    }

    static func ratio(_ v: Double) -> String { v >= 99.5 ? String(format: "%.0f", v) : String(format: "%.1f", v) }
    static func share(_ v: Double) -> String { String(format: "%.1f%%", 100 * v) }

    static func render(_ m: ClusterPanelModel, _ r: Rect, _ b: inout CellBuffer) {
        var y = r.y
        func line(_ text: String, _ style: Style = .plain) {
            if y < r.maxY { b.write(text, x: r.x, y: y, style: style, clip: r) }
            y += 1
        }
        line("Clusters  C closes · ↑/↓ choose · Enter zooms", .bold)
        line("× = share ÷ share of weights (1 = uniform)", .dim)
        line(
            m.heads.map { "heads of \($0.headDim) \($0.axis == .rows ? "rows" : "cols")" }
                ?? "heads: none (not q/k/v/o, or no head count in the files)", .dim)
        line(
            m.groupsize.map { "groups of \($0) cols in \(m.permutationOrder.rawValue) order" } ?? "groups: none",
            .dim)
        guard m.measured else {
            line("ranked after the full layer…", .dim)
            return
        }
        guard !m.clusters.isEmpty else {
            line("nothing above uniform: outliers and error are spread evenly", .dim)
            return
        }
        line("  " + pad("cluster", 27) + rpad("outl.", 6) + rpad("×", 5) + rpad("error", 7) + rpad("×", 5), .bold)
        let rows = max(1, r.maxY - y)
        let first = max(0, min(m.selection - rows + 1, m.clusters.count - rows))
        for (i, c) in m.clusters.enumerated().dropFirst(first).prefix(rows) {
            let chosen = i == m.selection
            let text =
                (chosen ? (m.unicode ? "▸ " : "> ") : "  ") + pad(name(c), 27)
                + rpad(share(c.outlierShare), 6) + rpad(ratio(c.outlierRatio), 5)
                + rpad(share(c.errorShare), 7) + rpad(ratio(c.errorRatio), 5)
            line(text, chosen ? .reverse : .plain)
        }
    }

    static func pad(_ s: String, _ n: Int) -> String {
        s.count >= n ? String(s.prefix(n - 1)) + " " : s.padding(toLength: n, withPad: " ", startingAt: 0)
    }

    static func rpad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
}
