// The help overlay, generated from the key-binding table, with what the layer view's figures mean.

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

    static func render(_ m: HelpModel, _ area: Rect, _ b: inout CellBuffer) {
        let bindings = m.bindings
        let width = min(area.width - 4, 72)
        let height = min(area.height - 2, bindings.count + 4 + (m.notes.isEmpty ? 0 : m.notes.count + 1))
        let box = Rect(x: area.x + (area.width - width) / 2, y: area.y + 1, width: width, height: height)
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
        b.write(" Keys (\(m.screen)) — any key closes ", x: box.x + 2, y: box.y, style: .bold, clip: box)
        let inner = box.inset(1)
        for (i, k) in bindings.enumerated() where i + 1 < inner.height {
            let keys = k.keys.map(label).joined(separator: " ")
            b.write(keys, x: inner.x + 1, y: inner.y + 1 + i, style: .bold, clip: inner)
            b.write(k.help, x: inner.x + 14, y: inner.y + 1 + i, clip: inner)
        }
        for (i, note) in m.notes.enumerated() where bindings.count + 2 + i < inner.height {
            b.write(note, x: inner.x + 1, y: inner.y + bindings.count + 2 + i, style: .dim, clip: inner)
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
