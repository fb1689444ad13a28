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
        var panel = m.panel
        panel.cursor = g.region(cellX: m.heatmap.viewport.cursorX, cellY: m.heatmap.viewport.cursorY)
        PanelView.render(panel, areas.panel, &b)
    }

    /// The heatmap with its title row, marginals and legend; returns the geometry it drew with.
    static func renderHeatmap(_ m: HeatmapModel, _ areas: LayerAreas, _ b: inout CellBuffer) -> HeatmapGeometry {
        let g = HeatmapGeometry(rows: m.rows, cols: m.cols, area: areas.heatmap, viewport: m.viewport)
        heatmapTitle(m, g, areas.heatmapTitle, &b)
        if let maps = m.maps {
            heatmap(m, maps, g, &b)
            marginals(m, maps, g, areas, &b)
            legend(m, maps, areas.legend, &b)
        } else {
            let msg = m.error.map { "Could not quantize: \($0)" } ?? "Quantizing… the heatmap appears when the full layer is done."
            b.write(msg, x: areas.heatmap.x + 1, y: areas.heatmap.y + areas.heatmap.height / 2,
                    style: m.error == nil ? .dim : .bold, clip: areas.heatmap)
        }
        return g
    }

    static func heatmapTitle(_ m: HeatmapModel, _ g: HeatmapGeometry, _ r: Rect, _ b: inout CellBuffer) {
        var t = "[\(m.mode.rawValue)] \(m.mode.title)"
        if let maps = m.maps, maps.logScale(m.mode) { t += " (log)" }
        t += "  rows \(m.viewport.row0)–\(m.viewport.row0 + g.visibleRows - 1)  cols \(m.viewport.col0)–\(m.viewport.col0 + g.visibleCols - 1)  zoom \(m.viewport.zoom)×"
        if m.mapsStale { t += "  (map: previous settings)" }
        let end = b.write(t, x: r.x, y: r.y, style: .bold, clip: r)
        if let p = m.progress {
            let label = " \(p.phase) "
            let width = max(0, min(20, r.maxX - end - label.count - 2))
            if width > 4 {
                let x = r.maxX - width - label.count
                b.write(label, x: x, y: r.y, style: .dim, clip: r)
                b.write(Bars.progress(p.fraction, width: width, unicode: m.capabilities.unicode), x: x + label.count, y: r.y,
                        style: Style(fg: m.capabilities.colors > 0 ? .index(6) : .none), clip: r)
            }
        }
    }

    static func heatmap(_ m: HeatmapModel, _ maps: HeatmapMaps, _ g: HeatmapGeometry, _ b: inout CellBuffer) {
        let a = g.area
        let colors = m.capabilities.colors, signed = m.mode.signed
        let colRanges = (0..<a.width).map { g.colRange(cell: $0) }
        let rowRanges = (0..<(2 * a.height)).map { g.rowRange(pixel: $0) }
        for cy in 0..<a.height {
            let top = rowRanges[2 * cy], bottom = rowRanges[2 * cy + 1]
            for cx in 0..<a.width {
                let cr = colRanges[cx]
                let tu = maps.scale(m.mode, maps.region(m.mode, top.lowerBound, top.upperBound, cr.lowerBound, cr.upperBound))
                let tl = maps.scale(m.mode, maps.region(m.mode, bottom.lowerBound, bottom.upperBound, cr.lowerBound, cr.upperBound))
                var cell: Cell
                if colors == 0 {
                    cell = Cell(glyph: ColorRamp.glyph(max(tu, tl)), style: .plain)
                } else if m.capabilities.unicode {
                    cell = Cell(glyph: "▀", style: Style(fg: ColorRamp.color(tu, colors: colors, signed: signed),
                                                          bg: ColorRamp.color(tl, colors: colors, signed: signed)))
                } else {
                    cell = Cell(glyph: " ", style: Style(bg: ColorRamp.color(max(tu, tl), colors: colors, signed: signed)))
                }
                if cx == m.viewport.cursorX && cy == m.viewport.cursorY {
                    cell = Cell(glyph: m.capabilities.unicode ? "▣" : "X", style: Style(fg: .index(colors >= 16 ? 15 : 7), bg: cell.style.bg, attributes: .bold))
                    if colors == 0 { cell.style = .reverse }
                }
                b[a.x + cx, a.y + cy] = cell
            }
        }
    }

    static func marginals(_ m: HeatmapModel, _ maps: HeatmapMaps, _ g: HeatmapGeometry, _ areas: LayerAreas, _ b: inout CellBuffer) {
        let total = max(maps.totalError, 1e-300)
        let colors = m.capabilities.colors
        // Rows: error share of the rows under each cell row.
        var rowShares: [Double] = []
        for cy in 0..<areas.rowMarginal.height {
            let (rr, _) = g.region(cellX: 0, cellY: cy)
            rowShares.append(rr.reduce(0.0) { $0 + maps.rowError[$1] } / total)
        }
        let rowMax = max(rowShares.max() ?? 0, 1e-300)
        for (cy, v) in rowShares.enumerated() {
            b.set(areas.rowMarginal.x, areas.rowMarginal.y + cy, Bars.glyph(v / rowMax, unicode: m.capabilities.unicode),
                  Style(fg: colors > 0 ? .index(colors >= 256 ? 208 : 3) : .none))
        }
        var colShares: [Double] = []
        for cx in 0..<areas.colMarginal.width {
            let cr = g.colRange(cell: cx)
            colShares.append(cr.reduce(0.0) { $0 + maps.colError[$1] } / total)
        }
        let colMax = max(colShares.max() ?? 0, 1e-300)
        for (cx, v) in colShares.enumerated() {
            b.set(areas.colMarginal.x + cx, areas.colMarginal.y, Bars.glyph(v / colMax, unicode: m.capabilities.unicode),
                  Style(fg: colors > 0 ? .index(colors >= 256 ? 208 : 3) : .none))
        }
    }

    static func legend(_ m: HeatmapModel, _ maps: HeatmapMaps, _ r: Rect, _ b: inout CellBuffer) {
        guard let range = maps.ranges[m.mode] else { return }
        let colors = m.capabilities.colors
        let lo: String, hi: String
        if m.mode.signed {
            lo = "−" + Num.short(Double(range.hi))
            hi = "+" + Num.short(Double(range.hi))
        } else if m.mode.maxPooled {
            lo = "none"
            hi = "outlier"
        } else {
            lo = maps.logScale(m.mode) ? Num.short(Double(max(range.lo, range.hi * 1e-8))) : "0"
            hi = Num.short(Double(range.hi))
        }
        var x = b.write(lo + " ", x: r.x, y: r.y, clip: r)
        let steps = 24
        for i in 0..<steps {
            let t = Float(i) / Float(steps - 1)
            if colors > 0 {
                b.set(x, r.y, " ", Style(bg: ColorRamp.color(t, colors: colors, signed: m.mode.signed)), clip: r)
            } else {
                b.set(x, r.y, ColorRamp.glyph(t), .plain, clip: r)
            }
            x += 1
        }
        x = b.write(" " + hi, x: x, y: r.y, clip: r)
        let note = m.mode.maxPooled ? "  max-pooled" : (maps.logScale(m.mode) ? "  log scale, mean-pooled" : "  linear, mean-pooled")
        x = b.write(note, x: x, y: r.y, style: .dim, clip: r)
        b.write("   ▐ row / ▂ column error share", x: x, y: r.y, style: .dim, clip: r)
    }
}
