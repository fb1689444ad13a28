// The frame: pure functions from state to a cell buffer. Views never read the terminal themselves.

import SpQRCore

enum Renderer {
    static func render(_ s: AppState) -> CellBuffer {
        var b = CellBuffer(width: s.width, height: s.height)
        let layout = Layout(width: s.width, height: s.height)
        if layout.body.isEmpty || (s.onLayer && layout.tooSmall) {
            let lines = ["Terminal too small (\(s.width)x\(s.height)).",
                         "The explorer needs at least \(Layout.minWidth)x\(Layout.minHeight).",
                         "Enlarge the window, or press q to quit."]
            for (i, l) in lines.enumerated() where i < s.height {
                b.write(String(l.prefix(max(0, s.width))), x: 0, y: i, style: i == 0 ? .bold : .plain)
            }
            return b
        }
        title(s, layout.title, &b)
        if s.onLayer, let layer = s.layer {
            LayerView.render(s, layer, layout, &b)
        } else {
            BrowserView.render(s, layout.body, &b)
        }
        status(s, layout.status, &b)
        footer(s, layout.footer, &b)
        if s.showHelp { HelpView.render(s, layout.body, &b) }
        if !s.capabilities.unicode { b.asciiFallback() }
        return b
    }

    static func title(_ s: AppState, _ r: Rect, _ b: inout CellBuffer) {
        b.fill(r, " ", .reverse)
        let cal = s.calibrationKind == .none ? " DATA-FREE: H = I " : " \(s.calibrationLabel) "
        var layer = ""
        if s.onLayer, let l = s.layer { layer = "  ›  \(l.name)  [\(l.row.shape.map(String.init).joined(separator: "×"))] \(l.row.dtype)" }
        // The calibration source always shows; the checkpoint path gives way (its start is cut) when short of room.
        let room = max(0, r.width - cal.count - layer.count - " SpQR Explorer  ".count - 1)
        var path = s.checkpointPath
        if path.count > room { path = room > 1 ? "…" + String(path.suffix(room - 1)) : "" }
        let t = " SpQR Explorer  \(path)\(layer)"
        b.write(t, x: r.x, y: r.y, style: .reverse, clip: r)
        let x = max(r.x + min(t.count + 1, r.width), r.maxX - cal.count)
        b.write(cal, x: x, y: r.y, style: Style(fg: s.calibrationKind == .none ? .index(s.capabilities.colors > 0 ? 1 : 0) : .none,
                                                 attributes: s.calibrationKind == .none ? [.reverse, .bold] : .reverse), clip: r)
    }

    static func status(_ s: AppState, _ r: Rect, _ b: inout CellBuffer) {
        if let p = s.prompt {
            let label: String
            switch p.kind {
            case .filter: label = "filter: "
            case .exportPath: label = "export recipe to (Enter to write, Esc to cancel): "
            case .openRecipe: label = "open recipe (Enter to load, Esc to cancel): "
            case .confirmOverwrite(let path): label = "\(path) exists. Overwrite it? [y/N] "
            }
            let end = b.write(label, x: r.x, y: r.y, style: .bold, clip: r)
            let cursorEnd = b.write(p.text, x: end, y: r.y, clip: r)
            b.set(cursorEnd, r.y, " ", .reverse, clip: r)
        } else if let e = s.exporting {
            let label = e.total > 0
                ? "exporting \(e.path): hashing model files \(Num.bytes(e.done))/\(Num.bytes(e.total)) "
                : "exporting \(e.path)… "
            let end = b.write(label, x: r.x, y: r.y, clip: r)
            let hint = "  \(Int((e.fraction * 100).rounded(.down)))%  Esc cancels"
            let barWidth = max(0, min(30, r.maxX - end - hint.count))
            let barEnd = e.total > 0 ? b.write(Bars.progress(e.fraction, width: barWidth, unicode: s.capabilities.unicode),
                                                x: end, y: r.y, clip: r) : end
            b.write(e.total > 0 ? hint : "Esc cancels", x: barEnd, y: r.y, style: .bold, clip: r)
        } else if let m = s.message {
            let style = s.messageIsError ? Style(fg: s.capabilities.colors > 0 ? .index(1) : .none, attributes: .bold) : .plain
            b.write((s.messageIsError ? "error: " : "") + m, x: r.x, y: r.y, style: style, clip: r)
        }
    }

    static func footer(_ s: AppState, _ r: Rect, _ b: inout CellBuffer) {
        var x = r.x
        for k in KeyBindings.table where k.footer && (k.context == .everywhere || (k.context == .layer) == s.onLayer) {
            let text = k.footerText
            if x + k.label.count + text.count + 3 > r.maxX { break }
            x = b.write(k.label, x: x, y: r.y, style: .reverse, clip: r)
            x = b.write(" " + text + "  ", x: x, y: r.y, clip: r)
        }
    }
}

/// Number formatting shared by the views.
enum Num {
    static func f(_ v: Double, _ digits: Int = 4) -> String { ReportFormat.fmt(v, digits) }
    static func e(_ v: Double) -> String { ReportFormat.sci(v) }
    static func pct(_ v: Double) -> String { ReportFormat.pct(v) }
    static func bytes(_ n: Int) -> String { ReportFormat.bytes(n) }
    static func short(_ v: Double) -> String {
        guard v.isFinite else { return "-" }
        if v == 0 { return "0" }
        return abs(v) >= 0.01 && abs(v) < 1000 ? String(format: "%.3g", v) : String(format: "%.2e", v)
    }
}

/// Text bars for marginals and progress.
enum Bars {
    static let unicode: [Unicode.Scalar] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    static let ascii: [Unicode.Scalar] = [".", ":", "-", "=", "+", "*", "#", "@"]

    static func glyph(_ t: Double, unicode: Bool) -> Unicode.Scalar {
        if t <= 0 { return " " }
        let set = unicode ? Self.unicode : Self.ascii
        return set[min(set.count - 1, max(0, Int(t * Double(set.count))))]
    }

    /// A horizontal progress bar `width` cells wide.
    static func progress(_ f: Double, width: Int, unicode: Bool) -> String {
        let filled = Int((max(0, min(1, f)) * Double(width)).rounded())
        return String(repeating: unicode ? "█" : "#", count: filled) + String(repeating: unicode ? "░" : ".", count: max(0, width - filled))
    }
}
