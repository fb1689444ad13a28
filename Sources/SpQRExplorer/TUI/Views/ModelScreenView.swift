// The model screen: a grid of blocks (rows) × layer types (columns), each cell coloured by one figure of
// its layer on the ramp of the layer view (HeatmapScale: 1st–99th percentile of the cells shown, log when
// they span a decade) with a legend giving the range; below it the budget slider, the allocation's totals
// against fp16 and the uniform setting of the session defaults, and the layer under the cursor.

import Foundation
import SpQRCore

/// The model screen within the body: the grid as a list (a header row of layer types, a row per block, a
/// legend row at the bottom) above four panel lines.
struct ModelScreenLayout: Equatable {
    static let panelLines = 4
    /// Columns of the block numbers at the left.
    static let labelWidth = 5

    let list: ListGeometry
    let panel: Rect

    init(_ body: Rect) {
        let (top, bottom) = body.splitTop(max(0, body.height - Self.panelLines))
        list = ListGeometry(area: top)
        panel = bottom
    }

    /// A grid column's width for `types` columns.
    func cellWidth(types: Int) -> Int {
        max(6, min(12, (list.area.width - Self.labelWidth) / max(1, types)))
    }
}

/// What the model screen draws.
struct ModelScreenModel {
    var grid: ModelGrid
    var figure: ModelFigure
    /// The figure of each layer that has one.
    var values: [String: Double]
    /// Whether the values are the allocation's (else the session's measurements at each layer's settings).
    var allocated: Bool
    var row: Int
    var column: Int
    var scroll: Int
    var fronts: ModelFronts?
    var budget: Double?
    var allocation: Allocation?
    /// Every layer at the session defaults, when the menu has them (the comparison at the same model).
    var uniform: Allocation?
    var measuring: FrontsStatus?
    /// Layers the session measured at their own settings.
    var measuredLayers: Int
    /// The layer under the cursor: its name, its setting and figures in a line.
    var cursorLine: String
    var capabilities: TerminalCapabilities
}

extension ModelScreenModel {
    init(_ s: AppState) {
        let m = s.modelScreen
        let grid = ModelGrid(s.rows)
        var choices: [String: Allocation.Choice] = [:]
        for c in m.allocation?.choices ?? [] { choices[c.layer] = c }
        let allocated = m.allocation != nil && m.figure != .sensitivity
        var values: [String: Double] = [:]
        for name in grid.cells.joined().compactMap({ $0 }) {
            let report = s.reports[name]
            let point = choices[name]?.point
            switch m.figure {
            case .avgBits: values[name] = allocated ? point?.avgBits : report?.avgBits
            case .proxyError: values[name] = allocated ? point?.relProxyError : report?.relProxyError
            case .outliers: values[name] = allocated ? point?.outlierFraction : report?.outlierFraction
            case .sensitivity: values[name] = report?.sensitivityConcentration
            }
        }
        let uniform = m.fronts.flatMap { f in f.configs.firstIndex(of: s.defaults).map { f.uniform($0) } }
        var cursorLine = ""
        if let name = grid.layer(row: m.row, column: m.column) {
            cursorLine = name.hasSuffix(".weight") ? String(name.dropLast(".weight".count)) : name
            if let c = choices[name] {
                cursorLine +=
                    ": " + Setting.summary(ModelScreenState.menu.axes.map(\.setting), of: c.config)
                    + " → \(Num.f(c.point.avgBits, 3)) bits, rel proxy "
                    + "\(Num.short(c.point.relProxyError)), outliers \(Num.pct(c.point.outlierFraction))"
            } else if let r = s.reports[name] {
                cursorLine +=
                    ": session settings → \(Num.f(r.avgBits, 3)) bits, rel proxy \(Num.short(r.relProxyError))"
            }
            if let r = s.reports[name] { cursorLine += ", sensitivity conc. \(Num.pct(r.sensitivityConcentration))" }
        }
        self.init(
            grid: grid, figure: m.figure, values: values, allocated: allocated, row: m.row, column: m.column,
            scroll: m.scroll, fronts: m.fronts, budget: m.budget, allocation: m.allocation, uniform: uniform,
            measuring: m.measuring,
            measuredLayers: grid.cells.joined().compactMap { $0 }.filter { s.reports[$0] != nil }
                .count, cursorLine: cursorLine, capabilities: s.capabilities)
    }
}

enum ModelScreenView {
    static func render(_ m: ModelScreenModel, _ r: Rect, _ b: inout CellBuffer) {
        let layout = ModelScreenLayout(r)
        let list = layout.list
        let grid = m.grid
        guard !grid.blocks.isEmpty else {
            b.write(
                "No quantizable layer in blocks: the model screen shows the blocks' weight matrices.", x: r.x + 1,
                y: r.y + 1, style: .dim, clip: r)
            return
        }
        let cw = layout.cellWidth(types: grid.types.count)
        let x0 = r.x + ModelScreenLayout.labelWidth
        b.write("block", x: r.x, y: list.area.y, style: .bold, clip: r)
        for (j, t) in grid.types.enumerated() {
            let style: Style = j == m.column ? Style(attributes: [.bold, .reverse]) : .bold
            b.write(
                ModelGrid.header(t), x: x0 + j * cw + 1, y: list.area.y, style: style,
                clip: Rect(x: x0 + j * cw, y: list.area.y, width: cw - 1, height: 1))
        }
        let known = m.values.values.map { Float($0) }
        let scale = HeatmapScale.fit(known, signed: false, binary: false)
        let scroll = list.scroll(selection: m.row, current: m.scroll)
        for (i, block) in grid.blocks.enumerated().dropFirst(scroll).prefix(list.listHeight) {
            let y = list.area.y + 1 + i - scroll
            b.write(String(block), x: r.x + 1, y: y, style: i == m.row ? .bold : .dim, clip: r)
            for j in grid.types.indices {
                let cell = Rect(x: x0 + j * cw, y: y, width: cw - 1, height: 1)
                let here = i == m.row && j == m.column
                guard let name = grid.cells[i][j] else { continue }
                guard let v = m.values[name] else {
                    b.write(" n/a", x: cell.x, y: y, style: here ? .reverse : .dim, clip: cell)
                    continue
                }
                let t = scale.position(Float(v))
                var style = Style()
                if m.capabilities.colors > 0 {
                    style.bg = ColorRamp.color(t, colors: m.capabilities.colors, signed: false)
                    style.fg = .index(t < 0.5 ? 7 : 0)
                }
                if here { style.attributes = [.reverse, .bold] }
                b.fill(cell, " ", style)
                b.write(" " + m.figure.format(v), x: cell.x, y: y, style: style, clip: cell)
            }
        }
        legend(m, scale, Rect(x: r.x, y: list.statusY, width: r.width, height: 1), &b)
        panel(m, layout.panel, &b)
    }

    /// The legend row: the figure, where its values come from, the ramp and the range of the cells.
    static func legend(_ m: ModelScreenModel, _ scale: HeatmapScale, _ r: Rect, _ b: inout CellBuffer) {
        let source =
            m.figure == .sensitivity
            ? "at the session's settings"
            : m.allocated ? "of the allocation" : "at the session's settings"
        var x = b.write("\(m.figure.title) \(source) (c: next)  ", x: r.x + 1, y: r.y, style: .bold, clip: r)
        guard !m.values.isEmpty else {
            b.write("n/a: no layer measured yet", x: x, y: r.y, style: .dim, clip: r)
            return
        }
        let width = 12
        for k in 0..<width where m.capabilities.colors > 0 {
            let t = (Float(k) + 0.5) / Float(width)
            b.set(x + k, r.y, " ", Style(bg: ColorRamp.color(t, colors: m.capabilities.colors, signed: false)), clip: r)
        }
        if m.capabilities.colors > 0 { x += width + 1 }
        let range =
            "\(m.figure.format(Double(scale.lo))) … \(m.figure.format(Double(scale.hi)))"
            + (scale.kind == .log ? " (log)" : "")
            + "  \(m.values.count)/\(m.grid.cells.joined().compactMap { $0 }.count) layers"
        b.write(range, x: x, y: r.y, clip: r)
    }

    /// The budget, the totals, the comparison with the session defaults and the layer under the cursor.
    static func panel(_ m: ModelScreenModel, _ r: Rect, _ b: inout CellBuffer) {
        var lines: [(String, Style)] = []
        if let f = m.fronts, let budget = m.budget {
            let reach = ModelScreenState.reach(f)
            let knob = Bars.knob(
                (budget - reach.lowest) / max(1e-9, reach.highest - reach.lowest), width: 12,
                unicode: m.capabilities.unicode)
            lines.append(
                (
                    "target ≤ \(String(format: "%.2f", budget)) avg bits  \(Num.f(reach.lowest, 2)) \(knob) \(Num.f(reach.highest, 2))  [ ] ±0.1 { } ±0.5 A applies",
                    .bold
                ))
            if let a = m.allocation {
                let gap = a.gap.map { " (gap \(Num.pct($0 / max(a.error, .leastNonzeroMagnitude))))" } ?? ""
                lines.append(("allocated " + totals(a) + gap, .plain))
            } else {
                lines.append(("allocation: n/a (the target is out of reach)", .dim))
            }
            lines.append(
                (
                    m.uniform.map { "defaults  " + totals($0) }
                        ?? "defaults  not a setting of the menu (\(f.menu))", .plain
                ))
        } else {
            let status =
                m.measuring.map { "\($0.phase): \($0.layersDone) of \($0.layers) layers; x stops" }
                ?? "not measured; M measures"
            lines.append(("budget: once every layer is measured (\(status))", .dim))
            lines.append(
                (
                    "\(m.measuredLayers) layer(s) measured in this session at their own settings; n/a: not measured",
                    .plain
                ))
            lines.append(("menu: \(ModelScreenState.menu) around the session defaults", .dim))
        }
        lines.append((m.cursorLine, .plain))
        for (i, (text, style)) in lines.enumerated() where i < r.height {
            b.write(text, x: r.x + 1, y: r.y + i, style: style, clip: r)
        }
    }

    /// "3.490 bits · 61.2 MB · 4.58× vs fp16 · Σ proxy loss 1.23e+03": the error the screen allocates by is
    /// the layers' summed absolute proxy loss tr(ΔW H ΔWᵀ), or their predicted KL when the explorer was
    /// given --text (each layer's proxy loss times its sensitivity measured on the model).
    static func totals(_ a: Allocation) -> String {
        "\(Num.f(a.avgBits, 3)) bits · \(Num.bytes(a.bytes)) · \(Num.f(a.compressionFP16, 2))× vs fp16 · \(a.errorName) \(Num.short(a.error))"
    }
}

extension ModelScreenView {
    /// The measurement's progress on the status line.
    static func progress(_ p: FrontsStatus, _ r: Rect, _ b: inout CellBuffer, unicode: Bool) {
        let cached = p.cachedLayers > 0 ? ", \(p.cachedLayers) from the cache" : ""
        let end = b.write("\(p.phase): \(p.layersDone)/\(p.layers) layers\(cached) ", x: r.x, y: r.y, clip: r)
        let barEnd = b.write(Bars.progress(p.fraction, width: 12, unicode: unicode), x: end, y: r.y, clip: r)
        let end2 = b.write(
            "  \(Int((p.fraction * 100).rounded(.down)))%  x stops ", x: barEnd, y: r.y, style: .bold, clip: r)
        b.write(p.layer, x: end2 + 1, y: r.y, style: .dim, clip: r)
    }
}
