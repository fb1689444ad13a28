// The layer view: the heatmap of the whole matrix (half-blocks: foreground = upper pixel, background =
// lower pixel), its row and column marginals, a legend with values, and the panel with the settings,
// figures, baselines and the inspector of the cell under the cursor.

import SpQRCore

enum LayerView {
    /// The layer screen in `area`: the heatmap side (see `HeatmapModel`) and the panel, whose inspector
    /// shows the matrix region under the heatmap cursor.
    static func render(_ m: LayerModel, _ area: Rect, _ b: inout CellBuffer) {
        let areas = LayerAreas(body: area)
        let g = renderHeatmap(m.heatmap, areas, &b)
        if let clusters = m.clusters {
            ClusterPanelView.render(clusters, areas.panel, &b)
            return
        }
        var panel = m.panel
        panel.cursor = g.region(cellX: m.heatmap.viewport.cursorX, cellY: m.heatmap.viewport.cursorY)
        PanelView.render(panel, areas.panel, &b)
    }

    /// The heatmap with its title row, marginals and legend; returns the geometry it drew with.
    static func renderHeatmap(_ m: HeatmapModel, _ areas: LayerAreas, _ b: inout CellBuffer) -> HeatmapGeometry {
        let g = HeatmapGeometry(rows: m.rows, cols: m.cols, area: areas.heatmap, viewport: m.viewport)
        heatmapTitle(m, g, areas.heatmapTitle, &b)
        if let maps = m.maps {
            // A view still being pooled in the background leaves the heatmap and legend for a later frame.
            if let view = maps.readyView(m.mode, m.pooling, g), let scale = scale(m, maps, g, view) {
                heatmap(m, view, scale, g, &b)
                legend(m, maps, scale, g, areas.legend, &b)
            } else {
                b.write(
                    "Pooling the view…", x: areas.heatmap.x + 1, y: areas.heatmap.y + areas.heatmap.height / 2,
                    style: .dim, clip: areas.heatmap)
            }
            marginals(m, maps, g, areas, &b)
        } else {
            let msg =
                m.error.map { "Could not quantize: \($0)" }
                ?? "Quantizing… the heatmap appears when the full layer is done."
            b.write(
                msg, x: areas.heatmap.x + 1, y: areas.heatmap.y + areas.heatmap.height / 2,
                style: m.error == nil ? .dim : .bold, clip: areas.heatmap)
        }
        return g
    }

    static func heatmapTitle(_ m: HeatmapModel, _ g: HeatmapGeometry, _ r: Rect, _ b: inout CellBuffer) {
        var t = "[\(m.mode.rawValue)] \(m.mode.title)"
        t +=
            "  rows \(m.viewport.row0)–\(m.viewport.row0 + g.visibleRows - 1)  cols\(m.maps?.shownColumns == nil ? "" : " (GPTQ order)") \(m.viewport.col0)–\(m.viewport.col0 + g.visibleCols - 1)  zoom \(m.viewport.zoom)×"
        if m.mapsStale { t += "  (map: previous settings)" }
        let end = b.write(t, x: r.x, y: r.y, style: .bold, clip: r)
        if let p = m.progress {
            let label = " \(p.phase) "
            let width = max(0, min(20, r.maxX - end - label.count - 2))
            if width > 4 {
                let x = r.maxX - width - label.count
                b.write(label, x: x, y: r.y, style: .dim, clip: r)
                b.write(
                    Bars.progress(p.fraction, width: width, unicode: m.capabilities.unicode), x: x + label.count,
                    y: r.y,
                    style: Style(fg: m.capabilities.colors > 0 ? .index(6) : .none), clip: r)
            }
        }
    }

    /// The scale the heatmap is drawn with: the visible cells' or the whole layer's.
    /// The scale the heatmap is drawn with: the visible cells' or the whole layer's (nil while that is pooled).
    static func scale(_ m: HeatmapModel, _ maps: HeatmapMaps, _ g: HeatmapGeometry, _ view: PooledView) -> HeatmapScale?
    {
        m.wholeLayerRange ? maps.readyWholeLayerScale(m.mode, m.pooling, g) : view.scale
    }

    static func heatmap(
        _ m: HeatmapModel, _ view: PooledView, _ scale: HeatmapScale, _ g: HeatmapGeometry, _ b: inout CellBuffer
    ) {
        let a = g.area
        let colors = m.capabilities.colors
        let signed = Pooling.signed(m.mode, m.pooling)
        for cy in 0..<a.height {
            for cx in 0..<a.width {
                let tu = scale.position(view.value(cx, 2 * cy))
                let tl = scale.position(view.value(cx, 2 * cy + 1))
                var cell: Cell
                if colors == 0 {
                    cell = Cell(glyph: ColorRamp.glyph(max(tu, tl)), style: .plain)
                } else if m.capabilities.unicode {
                    cell = Cell(
                        glyph: "▀",
                        style: Style(
                            fg: ColorRamp.color(tu, colors: colors, signed: signed),
                            bg: ColorRamp.color(tl, colors: colors, signed: signed)))
                } else {
                    cell = Cell(
                        glyph: " ", style: Style(bg: ColorRamp.color(max(tu, tl), colors: colors, signed: signed)))
                }
                if cx == m.viewport.cursorX && cy == m.viewport.cursorY {
                    cell = Cell(
                        glyph: m.capabilities.unicode ? "▣" : "X",
                        style: Style(fg: .index(colors >= 16 ? 15 : 7), bg: cell.style.bg, attributes: .bold))
                    if colors == 0 { cell.style = .reverse }
                }
                b[a.x + cx, a.y + cy] = cell
            }
        }
    }
    /// The error share of the rows under each cell row and of the columns under each cell column.
    static func marginalShares(_ maps: HeatmapMaps, _ g: HeatmapGeometry) -> (rows: [Double], cols: [Double]) {
        let total = max(maps.totalError, 1e-300)
        let rows = (0..<g.area.height).map { cy in
            g.region(cellX: 0, cellY: cy).rows.reduce(0.0) { $0 + maps.rowError[$1] } / total
        }
        let cols = (0..<g.area.width).map { cx in g.colRange(cell: cx).reduce(0.0) { $0 + maps.colError[$1] } / total }
        return (rows, cols)
    }

    static func marginals(
        _ m: HeatmapModel, _ maps: HeatmapMaps, _ g: HeatmapGeometry, _ areas: LayerAreas, _ b: inout CellBuffer
    ) {
        let colors = m.capabilities.colors
        let style = Style(fg: colors > 0 ? .index(colors >= 256 ? 208 : 3) : .none)
        let (rowShares, colShares) = marginalShares(maps, g)
        for (cy, t) in MarginalBars.heights(rowShares).enumerated() where cy < areas.rowMarginal.height {
            b.set(areas.rowMarginal.x, areas.rowMarginal.y + cy, Bars.glyph(t, unicode: m.capabilities.unicode), style)
        }
        for (cx, t) in MarginalBars.heights(colShares).enumerated() where cx < areas.colMarginal.width {
            b.set(areas.colMarginal.x + cx, areas.colMarginal.y, Bars.glyph(t, unicode: m.capabilities.unicode), style)
        }
    }

    /// The marginals' scale, written after the legend: the largest and the mean error share of a bar.
    static func marginalScale(
        _ m: HeatmapModel, _ maps: HeatmapMaps, _ g: HeatmapGeometry, x: Int, _ r: Rect, _ b: inout CellBuffer
    ) {
        let (rows, cols) = marginalShares(maps, g)
        func share(_ v: Double) -> String { String(format: "%.2g%%", 100 * v) }
        func describe(_ v: [Double]) -> String {
            "max \(share(v.max() ?? 0)) avg \(share(v.reduce(0, +) / Double(max(1, v.count))))"
        }
        let log = MarginalBars.isLog(rows) || MarginalBars.isLog(cols) ? " (log bars)" : ""
        b.write("  error ▐\(describe(rows)) ▂\(describe(cols))\(log)", x: x, y: r.y, style: .dim, clip: r)
    }

    static func legend(
        _ m: HeatmapModel, _ maps: HeatmapMaps, _ scale: HeatmapScale, _ g: HeatmapGeometry, _ r: Rect,
        _ b: inout CellBuffer
    ) {
        let colors = m.capabilities.colors
        let signed = Pooling.signed(m.mode, m.pooling)
        let (lo, hi) = scale.endLabels
        var x = b.write(lo + " ", x: r.x, y: r.y, clip: r)
        let steps = 16
        for i in 0..<steps {
            let t = (Float(i) + 0.5) / Float(steps)
            if colors > 0 {
                b.set(x, r.y, " ", Style(bg: ColorRamp.color(t, colors: colors, signed: signed)), clip: r)
            } else {
                b.set(x, r.y, ColorRamp.glyph(t), .plain, clip: r)
            }
            x += 1
        }
        x = b.write(" " + hi, x: x, y: r.y, clip: r)
        let note = "  " + scale.describe(pooling: m.pooling, wholeLayer: m.wholeLayerRange)
        x = b.write(note, x: x, y: r.y, style: .dim, clip: r)
        marginalScale(m, maps, g, x: x, r, &b)
    }
}
