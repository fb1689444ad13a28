// The layer view: the heatmap of the whole matrix (half-blocks: foreground = upper pixel, background =
// lower pixel), its row and column marginals, a legend with values, and the panel with the settings,
// figures, baselines and the inspector of the cell under the cursor.

import SpQRCore

enum LayerView {
    static func render(_ s: AppState, _ layer: LayerSession, _ layout: Layout, _ b: inout CellBuffer) {
        let shape = layer.row.shape
        let g = HeatmapGeometry(rows: shape[0], cols: shape[1], area: layout.heatmap, viewport: s.viewport)
        heatmapTitle(s, layer, g, Rect(x: layout.heatmap.x, y: layout.heatmap.y - 1, width: layout.heatmap.width + 2, height: 1), &b)
        if let maps = layer.maps {
            heatmap(s, maps, g, &b)
            marginals(s, maps, g, layout, &b)
            legend(s, maps, layout.legend, &b)
        } else {
            let msg = layer.error.map { "Could not quantize: \($0)" } ?? "Quantizing… the heatmap appears when the full layer is done."
            b.write(msg, x: layout.heatmap.x + 1, y: layout.heatmap.y + layout.heatmap.height / 2,
                    style: layer.error == nil ? .dim : .bold, clip: layout.heatmap)
        }
        PanelView.render(s, layer, g, layout.panel, &b)
    }

    static func heatmapTitle(_ s: AppState, _ layer: LayerSession, _ g: HeatmapGeometry, _ r: Rect, _ b: inout CellBuffer) {
        var t = "[\(s.mode.rawValue)] \(s.mode.title)"
        if let maps = layer.maps, maps.logScale(s.mode) { t += " (log)" }
        t += "  rows \(s.viewport.row0)–\(s.viewport.row0 + g.visibleRows - 1)  cols \(s.viewport.col0)–\(s.viewport.col0 + g.visibleCols - 1)  zoom \(s.viewport.zoom)×"
        if layer.mapsStale { t += "  (map: previous settings)" }
        let end = b.write(t, x: r.x, y: r.y, style: .bold, clip: r)
        if let p = layer.progress {
            let label = " \(p.phase) "
            let width = max(0, min(20, r.maxX - end - label.count - 2))
            if width > 4 {
                let x = r.maxX - width - label.count
                b.write(label, x: x, y: r.y, style: .dim, clip: r)
                b.write(Bars.progress(p.fraction, width: width, unicode: s.capabilities.unicode), x: x + label.count, y: r.y,
                        style: Style(fg: s.capabilities.colors > 0 ? .index(6) : .none), clip: r)
            }
        }
    }

    static func heatmap(_ s: AppState, _ maps: HeatmapMaps, _ g: HeatmapGeometry, _ b: inout CellBuffer) {
        let a = g.area
        let colors = s.capabilities.colors, signed = s.mode.signed
        let colRanges = (0..<a.width).map { g.colRange(cell: $0) }
        let rowRanges = (0..<(2 * a.height)).map { g.rowRange(pixel: $0) }
        for cy in 0..<a.height {
            let top = rowRanges[2 * cy], bottom = rowRanges[2 * cy + 1]
            for cx in 0..<a.width {
                let cr = colRanges[cx]
                let tu = maps.scale(s.mode, maps.region(s.mode, top.lowerBound, top.upperBound, cr.lowerBound, cr.upperBound))
                let tl = maps.scale(s.mode, maps.region(s.mode, bottom.lowerBound, bottom.upperBound, cr.lowerBound, cr.upperBound))
                var cell: Cell
                if colors == 0 {
                    cell = Cell(glyph: ColorRamp.glyph(max(tu, tl)), style: .plain)
                } else if s.capabilities.unicode {
                    cell = Cell(glyph: "▀", style: Style(fg: ColorRamp.color(tu, colors: colors, signed: signed),
                                                          bg: ColorRamp.color(tl, colors: colors, signed: signed)))
                } else {
                    cell = Cell(glyph: " ", style: Style(bg: ColorRamp.color(max(tu, tl), colors: colors, signed: signed)))
                }
                if cx == s.viewport.cursorX && cy == s.viewport.cursorY {
                    cell = Cell(glyph: s.capabilities.unicode ? "▣" : "X", style: Style(fg: .index(colors >= 16 ? 15 : 7), bg: cell.style.bg, attributes: .bold))
                    if colors == 0 { cell.style = .reverse }
                }
                b[a.x + cx, a.y + cy] = cell
            }
        }
    }

    static func marginals(_ s: AppState, _ maps: HeatmapMaps, _ g: HeatmapGeometry, _ layout: Layout, _ b: inout CellBuffer) {
        let total = max(maps.totalError, 1e-300)
        let colors = s.capabilities.colors
        // Rows: error share of the rows under each cell row.
        var rowShares: [Double] = []
        for cy in 0..<layout.rowMarginal.height {
            let (rr, _) = g.region(cellX: 0, cellY: cy)
            rowShares.append(rr.reduce(0.0) { $0 + maps.rowError[$1] } / total)
        }
        let rowMax = max(rowShares.max() ?? 0, 1e-300)
        for (cy, v) in rowShares.enumerated() {
            b.set(layout.rowMarginal.x, layout.rowMarginal.y + cy, Bars.glyph(v / rowMax, unicode: s.capabilities.unicode),
                  Style(fg: colors > 0 ? .index(colors >= 256 ? 208 : 3) : .none))
        }
        var colShares: [Double] = []
        for cx in 0..<layout.colMarginal.width {
            let cr = g.colRange(cell: cx)
            colShares.append(cr.reduce(0.0) { $0 + maps.colError[$1] } / total)
        }
        let colMax = max(colShares.max() ?? 0, 1e-300)
        for (cx, v) in colShares.enumerated() {
            b.set(layout.colMarginal.x + cx, layout.colMarginal.y, Bars.glyph(v / colMax, unicode: s.capabilities.unicode),
                  Style(fg: colors > 0 ? .index(colors >= 256 ? 208 : 3) : .none))
        }
    }

    static func legend(_ s: AppState, _ maps: HeatmapMaps, _ r: Rect, _ b: inout CellBuffer) {
        guard let range = maps.ranges[s.mode] else { return }
        let colors = s.capabilities.colors
        let lo: String, hi: String
        if s.mode.signed {
            lo = "−" + Num.short(Double(range.hi))
            hi = "+" + Num.short(Double(range.hi))
        } else if s.mode.maxPooled {
            lo = "none"
            hi = "outlier"
        } else {
            lo = maps.logScale(s.mode) ? Num.short(Double(max(range.lo, range.hi * 1e-8))) : "0"
            hi = Num.short(Double(range.hi))
        }
        var x = b.write(lo + " ", x: r.x, y: r.y, clip: r)
        let steps = 24
        for i in 0..<steps {
            let t = Float(i) / Float(steps - 1)
            if colors > 0 {
                b.set(x, r.y, " ", Style(bg: ColorRamp.color(t, colors: colors, signed: s.mode.signed)), clip: r)
            } else {
                b.set(x, r.y, ColorRamp.glyph(t), .plain, clip: r)
            }
            x += 1
        }
        x = b.write(" " + hi, x: x, y: r.y, clip: r)
        let note = s.mode.maxPooled ? "  max-pooled" : (maps.logScale(s.mode) ? "  log scale, mean-pooled" : "  linear, mean-pooled")
        x = b.write(note, x: x, y: r.y, style: .dim, clip: r)
        b.write("   ▐ row / ▂ column error share", x: x, y: r.y, style: .dim, clip: r)
    }
}
