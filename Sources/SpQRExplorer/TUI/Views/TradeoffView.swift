// The trade-off view (key `f`): in place of the heatmap, the open layer's relative proxy error (log, up)
// against average bits (right) over its grid of settings, on the axes `sweep` plots with (ErrorBitsAxes):
// SpQR points (outliers kept), GPTQ and round-to-nearest points (outliers off), the Pareto front bold and
// green, the layer's current result marked ◆, the point under the cursor in reverse with its settings and
// figures below the plot. The panel stays on the right.

import SpQRCore

/// What the trade-off view draws.
struct TradeoffModel {
    var session: TradeoffSession
    /// The layer's figures at its current settings (the full result), when known.
    var current: (bits: Double, error: Double)?
    /// The session's calibration (the proxy error is named for it).
    var calibration: CalibrationKind
    var capabilities: TerminalCapabilities
}

extension TradeoffModel {
    /// The trade-off view of the state; nil when it is not open.
    init?(_ s: AppState) {
        guard s.tradeoffOpen, let t = s.tradeoff else { return nil }
        var current: (Double, Double)?
        if let r = s.layer?.result, !r.isPreview, r.config == s.settings {
            current = (r.figures.avgBits, r.figures.relProxyError)
        }
        self.init(session: t, current: current, calibration: s.calibrationKind, capabilities: s.capabilities)
    }
}

enum TradeoffView {
    /// The layer screen with the trade-off in place of the heatmap side.
    static func render(_ m: TradeoffModel, panel: PanelModel, _ area: Rect, _ b: inout CellBuffer) {
        let areas = LayerAreas(body: area)
        PanelView.render(panel, areas.panel, &b)
        render(m, Rect(x: area.x, y: area.y, width: max(0, areas.panel.x - 1 - area.x), height: area.height), &b)
    }

    /// The marker of a point: its method's glyph, filled on the Pareto front.
    static func glyph(_ method: TradeoffMethod, front: Bool, unicode: Bool) -> Unicode.Scalar {
        switch (method, unicode) {
        case (.spqr, true): return front ? "●" : "○"
        case (.gptq, true): return front ? "■" : "□"
        case (.rtn, true): return front ? "▲" : "△"
        case (.spqr, false): return front ? "S" : "s"
        case (.gptq, false): return front ? "G" : "g"
        case (.rtn, false): return front ? "R" : "r"
        }
    }

    /// The settings the grid varies, as the panel labels them.
    static func settings(_ c: SpQRConfig) -> String {
        AppState.describe(
            Dictionary(
                uniqueKeysWithValues: SettingsMenu.standard.axes.map { ($0.setting.name, $0.setting.value(in: c)) }))
    }

    /// The plot, its title, the selected point and the legend in `r`.
    static func render(_ m: TradeoffModel, _ r: Rect, _ b: inout CellBuffer) {
        b.fill(r, " ", .plain)
        let t = m.session
        let u = m.capabilities.unicode
        let colors = m.capabilities.colors
        let frontStyle = Style(fg: colors > 0 ? .index(colors >= 16 ? 10 : 2) : .none, attributes: .bold)
        let currentStyle = Style(fg: colors > 0 ? .index(colors >= 16 ? 11 : 3) : .none, attributes: .bold)

        // Title: what is plotted and how far the measurement is.
        let title =
            "Trade-off  \(t.points.count)/\(t.candidates.count) points"
            + (m.calibration.proxyErrorQualifier.map { "  (\($0))" } ?? "")
        let end = b.write(title, x: r.x, y: r.y, style: .bold, clip: r)
        if t.running {
            let width = max(0, min(20, r.maxX - end - 12))
            if width > 4 {
                let x = b.write("  measuring ", x: end, y: r.y, style: .dim, clip: r)
                b.write(Bars.progress(t.fraction, width: width, unicode: u), x: x, y: r.y, style: .dim, clip: r)
            }
        } else if !t.missing.isEmpty {
            b.write("  stopped", x: end, y: r.y, style: .dim, clip: r)
        }

        let label = ErrorBitsAxes.labelWidth
        let plotHeight = r.height - 7
        let plot = Rect(x: r.x + label + 1, y: r.y + 1, width: r.width - label - 2, height: plotHeight)
        guard plot.width >= 8, plot.height >= 3 else { return }
        let front = Set(t.front)
        var placed = t.points.map { ($0.value.avgBits, $0.value.relProxyError) }
        if let c = m.current { placed.append(c) }
        // The axes, even before the first point: the line and the caption tell what is coming.
        for y in plot.y..<plot.maxY { b.set(plot.x - 1, y, u ? "│" : "|", .dim) }
        b.set(plot.x - 1, plot.maxY, u ? "└" : "+", .dim)
        for x in plot.x..<plot.maxX { b.set(x, plot.maxY, u ? "─" : "-", .dim) }
        b.write(ErrorBitsAxes.caption, x: plot.x, y: plot.maxY + 2, style: .dim, clip: r)
        if t.points.isEmpty {
            let msg = t.error.map { "could not measure: \($0)" } ?? "measuring the first point…"
            b.write(msg, x: plot.x + 1, y: plot.y + plot.height / 2, style: t.error == nil ? .dim : .bold, clip: r)
        }
        guard let axes = ErrorBitsAxes(points: placed, width: plot.width, height: plot.height) else { return }
        for row in 0..<plot.height {
            b.write(axes.tick(row: row), x: r.x, y: plot.y + row, style: .dim, clip: r)
        }
        b.write(axes.bitLine, x: plot.x, y: plot.maxY + 1, style: .dim, clip: r)

        // Points off the front first, then the front, the current result and the selection on top.
        let order = t.points.keys.sorted { (front.contains($0) ? 1 : 0, $0) < (front.contains($1) ? 1 : 0, $1) }
        for i in order {
            guard let p = t.points[i], ErrorBitsAxes.plottable(bits: p.avgBits, error: p.relProxyError) else {
                continue
            }
            let (cx, cy) = axes.cell(bits: p.avgBits, error: p.relProxyError)
            let onFront = front.contains(i)
            b.set(
                plot.x + cx, plot.y + cy, glyph(p.candidate.method, front: onFront, unicode: u),
                onFront ? frontStyle : .plain)
        }
        if let c = m.current, ErrorBitsAxes.plottable(bits: c.bits, error: c.error) {
            let (cx, cy) = axes.cell(bits: c.bits, error: c.error)
            b.set(plot.x + cx, plot.y + cy, u ? "◆" : "@", currentStyle)
        }
        if let i = t.selection, let p = t.points[i], ErrorBitsAxes.plottable(bits: p.avgBits, error: p.relProxyError) {
            let (cx, cy) = axes.cell(bits: p.avgBits, error: p.relProxyError)
            var style = b[plot.x + cx, plot.y + cy].style
            style.attributes.insert(.reverse)
            b.set(plot.x + cx, plot.y + cy, glyph(p.candidate.method, front: front.contains(i), unicode: u), style)
        }

        // The selected point (figures, then settings) and the legend.
        let info = r.y + r.height - 3
        if let i = t.selection, let p = t.points[i] {
            let text =
                "\(u ? "▸" : ">") \(p.candidate.method.rawValue)  \(Num.f(p.avgBits, 3)) bits  "
                + "proxy err \(Num.e(p.relProxyError))" + (front.contains(i) ? "  front" : "")
            b.write(text, x: r.x, y: info, style: .bold, clip: r)
            b.write("  " + settings(p.candidate.config), x: r.x, y: info + 1, clip: r)
        }
        var x = r.x
        for method in TradeoffMethod.allCases {
            x = b.write(String(glyph(method, front: true, unicode: u)), x: x, y: info + 2, style: frontStyle, clip: r)
            x = b.write(" \(method.rawValue)  ", x: x, y: info + 2, clip: r)
        }
        x = b.write("filled: front  ", x: x, y: info + 2, style: .dim, clip: r)
        x = b.write(u ? "◆" : "@", x: x, y: info + 2, style: currentStyle, clip: r)
        b.write(" current", x: x, y: info + 2, style: .dim, clip: r)
    }
}
