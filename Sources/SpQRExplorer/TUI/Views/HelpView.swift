// The help overlay, generated from the key-binding table, with what the layer view's figures mean. It
// takes the whole body when it is longer than the screen, and scrolls (↑/↓, PgUp/PgDn, Home/End) with
// the lines shown and the keys written in its bottom border.

enum HelpView {
    /// What the `*` beside a setting or a layer means.
    static let overrideNotes = [
        "*: a layer's own setting (an override); other settings follow the",
        "  session defaults (A sets them, e exports them as the recipe's)",
    ]

    /// The meaning of the figures that are easy to misread, shown below the layer view's keys.
    static let figureNotes = [
        "sensitivity conc.: share of the layer's sensitivity (e² before any",
        "  outlier is kept) in its most sensitive 1% of weights",
        "error conc., err conc.: share of a method's final error held by",
        "  its top 1% of weights",
        "≤ SpQR bits: the best round-to-nearest or GPTQ (no outliers) over",
        "  wbits, groupsize and qq_* within SpQR's average bits",
    ]

    /// What the model screen's figures and allocation are.
    static let modelNotes = [
        "cells: the allocated setting's figures once every layer is measured",
        "  over the menu, else the session's measurements (n/a: none)",
        "allocated: the least Σ tr(ΔW H ΔWᵀ) within the target average bits;",
        "  defaults: the session defaults on every layer; gap: to the bound",
        "sensitivity conc.: measured at the session's settings only",
    ]

    /// The lines of the help: every binding as (keys, what it does), a blank line, then the notes.
    static func lines(_ m: HelpModel) -> [(keys: String, text: String)] {
        m.bindings.map { ($0.keys.map(label).joined(separator: " "), $0.help) }
            + (m.notes.isEmpty ? [] : [("", "")] + m.notes.map { ("", $0) })
    }

    /// The box in `area`: at most 80 columns wide, as high as its lines and borders or the whole area.
    static func box(_ m: HelpModel, _ area: Rect) -> Rect {
        let width = min(area.width - 2, 80)
        let height = min(area.height, lines(m).count + 2)
        return Rect(x: area.x + (area.width - width) / 2, y: area.y, width: width, height: height)
    }

    /// Lines shown at once.
    static func visibleRows(_ m: HelpModel, _ area: Rect) -> Int { max(1, box(m, area).height - 2) }

    /// The largest scroll position: the last line at the bottom of the box.
    static func maxScroll(_ m: HelpModel, _ area: Rect) -> Int { max(0, lines(m).count - visibleRows(m, area)) }

    static func render(_ m: HelpModel, _ area: Rect, _ b: inout CellBuffer) {
        let all = lines(m)
        let box = box(m, area)
        b.fill(box, " ", .plain)
        let h: Unicode.Scalar = m.unicode ? "─" : "-"
        let v: Unicode.Scalar = m.unicode ? "│" : "|"
        for x in box.x..<box.maxX {
            b.set(x, box.y, h, .bold)
            b.set(x, box.maxY - 1, h, .bold)
        }
        for y in box.y..<box.maxY {
            b.set(box.x, y, v, .bold)
            b.set(box.maxX - 1, y, v, .bold)
        }
        let inner = box.inset(1)
        let rows = visibleRows(m, area)
        let first = min(max(0, m.scroll), maxScroll(m, area))
        let scrolls = all.count > rows
        b.write(
            " Keys (\(m.screen)) — \(scrolls ? "other keys close" : "any key closes") ", x: box.x + 2, y: box.y,
            style: .bold, clip: box)
        for (i, line) in all.dropFirst(first).prefix(rows).enumerated() {
            let y = inner.y + i
            if line.keys.isEmpty && first + i > m.bindings.count {
                b.write(line.text, x: inner.x + 1, y: y, style: .dim, clip: inner)
            } else {
                b.write(line.keys, x: inner.x + 1, y: y, style: .bold, clip: inner)
                b.write(line.text, x: inner.x + 12, y: y, clip: inner)
            }
        }
        if scrolls {
            let arrows = m.unicode ? "↑/↓" : "up/down"
            b.write(
                " \(first + 1)–\(first + rows) of \(all.count)  \(arrows) PgUp/PgDn scroll ", x: box.x + 2,
                y: box.maxY - 1, style: .bold, clip: box)
        }
    }

    static func label(_ k: Key) -> String {
        switch k {
        case .char(let c): return String(c)
        case .enter: return "Enter"
        case .escape: return "Esc"
        case .backspace: return "Bksp"
        case .tab: return "Tab"
        case .backTab: return "S-Tab"
        case .up: return "↑"
        case .down: return "↓"
        case .left: return "←"
        case .right: return "→"
        case .pageUp: return "PgUp"
        case .pageDown: return "PgDn"
        case .home: return "Home"
        case .end: return "End"
        case .delete: return "Del"
        case .ctrl(let c): return "^\(c)"
        }
    }
}
