// The clusters panel and the column order of the heatmap: `C` shows the panel of the open layer's rows,
// columns, heads and groups ranked by how far above uniform their outliers and error are
// (SpQRCore's ClusterRanking.swift), ↑/↓ choose an entry while it is open and Enter zooms the heatmap to
// it; `v` shows the columns in the order GPTQ processed them (act_order puts the loud input features
// first, so their outliers line up). `P` asks for a picture of the heatmap (ReducerPicture.swift).

import SpQRCore

/// What the heatmap keys of this file act on.
enum ViewAction: Equatable, Sendable {
    case clusters, processingOrder, zoomToCluster, picture
}

/// The clusters panel and the heatmap's column order.
struct ClusterState: Equatable, Sendable {
    /// The model's attention heads (nil when its files do not say): q/k/v and o split by them.
    var heads: AttentionHeads?
    var shown = false
    var selection = 0
    /// Whether the heatmap shows the columns in processing order (key `v`).
    var processingOrder = false
}

extension AppState {
    /// The ranked clusters of the open layer's latest full result (empty before one).
    var clusters: [Cluster] {
        guard let l = layer, let maps = l.maps else { return [] }
        return maps.clusters(heads: clusterState.heads?.layout(layer: l.name, shape: l.row.shape))
    }

    /// The maps as the heatmap shows them: in the file's column order or in processing order.
    func displayedMaps(_ maps: HeatmapMaps) -> HeatmapMaps {
        clusterState.processingOrder ? maps.inProcessingOrder() : maps
    }
}

extension Reducer {
    /// The heatmap keys of this file; while the panel is open, ↑/↓/Home/End choose its entry.
    /// Returns nil for the actions it leaves to the rest of the reducer.
    static func clusterKey(_ s: inout AppState, _ a: Action) -> [Effect]? {
        guard s.onLayer else { return nil }
        switch a {
        case .view(let v): return perform(&s, v)
        case .up, .down, .home, .end:
            guard s.clusterState.shown else { return nil }
            let n = s.clusters.count
            var i = s.clusterState.selection
            switch a {
            case .up: i -= 1
            case .down: i += 1
            case .home: i = 0
            default: i = n - 1
            }
            s.clusterState.selection = max(0, min(n - 1, i))
            return []
        default: return nil
        }
    }

    static func perform(_ s: inout AppState, _ v: ViewAction) -> [Effect] {
        switch v {
        case .clusters:
            s.clusterState.shown.toggle()
            s.clusterState.selection = 0
        case .processingOrder:
            s.clusterState.processingOrder.toggle()
            let order = s.layer?.maps.map { $0.columnOrder.enumerated().allSatisfy { $0 == $1 } } ?? false
            setMessage(
                &s,
                s.clusterState.processingOrder
                    ? "columns in the order GPTQ processed them (\(s.settings.permutationOrder.rawValue))"
                        + (order ? ": the same as the file's" : "")
                    : "columns in the file's order",
                error: false)
        case .zoomToCluster:
            guard s.clusterState.shown else { return [] }
            let all = s.clusters
            guard all.indices.contains(s.clusterState.selection) else { return [] }
            zoom(&s, to: all[s.clusterState.selection])
        case .picture: return picture(&s)
        }
        return []
    }

    /// Zooms and pans so that `c` fills about half the view along its narrow side, with the cursor on it.
    /// A group is contiguous only in processing order and a head of columns only in the file's order, so
    /// the column order switches when needed; a single column is found wherever the order puts it.
    static func zoom(_ s: inout AppState, to c: Cluster) {
        guard let maps = s.layer?.maps, let g0 = geometry(s) else { return }
        var cols = c.columns
        let identity = maps.columnOrder.enumerated().allSatisfy { $0 == $1 }
        if c.columnOrder == .processing {
            s.clusterState.processingOrder = true
        } else if s.clusterState.processingOrder && !identity && cols.count < maps.cols {
            if cols.count == 1, let k = maps.columnOrder.firstIndex(of: cols.lowerBound) {
                cols = k..<k + 1
            } else {
                s.clusterState.processingOrder = false
            }
        }
        let wholeRows = c.rows.count == maps.rows
        let extent = wholeRows ? cols.count : c.rows.count
        let along = wholeRows ? maps.cols : maps.rows
        var v = Viewport()
        while v.zoom * 2 <= g0.maxZoom && (along + 2 * v.zoom - 1) / (2 * v.zoom) >= 2 * extent { v.zoom *= 2 }
        let g = HeatmapGeometry(rows: maps.rows, cols: maps.cols, area: g0.area, viewport: v)
        let centreRow = wholeRows ? g0.region(cellX: 0, cellY: s.viewport.cursorY).rows.lowerBound : c.rows.lowerBound
        v.row0 = max(0, min(maps.rows - g.visibleRows, centreRow + c.rows.count / 2 - g.visibleRows / 2))
        v.col0 = max(0, min(maps.cols - g.visibleCols, cols.lowerBound + cols.count / 2 - g.visibleCols / 2))
        let placed = HeatmapGeometry(rows: maps.rows, cols: maps.cols, area: g0.area, viewport: v)
        let firstRow = wholeRows ? centreRow : c.rows.lowerBound
        v.cursorY = (0..<g0.area.height).first { placed.region(cellX: 0, cellY: $0).rows.contains(firstRow) } ?? 0
        v.cursorX = (0..<g0.area.width).first { placed.colRange(cell: $0).contains(cols.lowerBound) } ?? 0
        s.viewport = v
        clampViewport(&s)
        setMessage(&s, "zoomed to \(ClusterPanelView.name(c))", error: false)
    }
}
