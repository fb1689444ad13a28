// The title bar, the status line and the footer of every screen.

import SpQRCore

enum TitleBar {
    static func render(_ m: TitleModel, _ r: Rect, _ b: inout CellBuffer) {
        b.fill(r, " ", .reverse)
        let cal = m.calibration.map { " \($0) " } ?? " DATA-FREE: H = I "
        var layer = m.layer.map { "  ›  \($0)" } ?? ""
        let start = " SpQR Explorer  "
        // The calibration source always shows; the checkpoint path gives way (its start is cut) when short of
        // room, then the layer name.
        let avail = max(0, r.width - DisplayWidth.of(cal) - DisplayWidth.of(start) - 1)
        if DisplayWidth.of(layer) > avail {
            layer = avail > 1 ? "…" + DisplayWidth.suffix(layer, fitting: avail - 1) : ""
        }
        let room = max(0, avail - DisplayWidth.of(layer))
        var path = m.checkpointPath
        if DisplayWidth.of(path) > room { path = room > 1 ? "…" + DisplayWidth.suffix(path, fitting: room - 1) : "" }
        let t = start + path + layer
        b.write(t, x: r.x, y: r.y, style: .reverse, clip: r)
        let x = max(r.x + min(DisplayWidth.of(t) + 1, r.width), r.maxX - DisplayWidth.of(cal))
        let dataFree = m.calibration == nil
        b.write(
            cal, x: x, y: r.y,
            style: Style(
                fg: dataFree ? .index(m.colors > 0 ? 1 : 0) : .none,
                attributes: dataFree ? [.reverse, .bold] : .reverse), clip: r)
    }
}

enum StatusLine {
    static func render(_ m: StatusModel, _ r: Rect, _ b: inout CellBuffer) {
        if let p = m.prompt {
            let label: String
            switch p.kind {
            case .filter: label = "filter: "
            case .exportPath: label = "export recipe to (Enter to write, Esc to cancel): "
            case .openRecipe: label = "open recipe (Enter to load, Esc to cancel): "
            case .confirmOverwrite(let path): label = "\(path) exists. Overwrite it? [y/N] "
            case .confirmApply(let scope, let changed):
                label = "apply these settings to \(scope.phrase) (\(changed) layers change)? [y/N] "
            case .confirmAllocation(let changed):
                label = "apply the allocation as the session's settings (\(changed) layers change)? [y/N] "
            }
            let end = b.write(label, x: r.x, y: r.y, style: .bold, clip: r)
            let cursorEnd = b.write(p.text, x: end, y: r.y, clip: r)
            b.set(cursorEnd, r.y, " ", .reverse, clip: r)
        } else if let e = m.exporting {
            let label =
                e.total > 0
                ? "exporting \(e.path): hashing model files \(Num.bytes(e.done))/\(Num.bytes(e.total)) "
                : "exporting \(e.path)… "
            let end = b.write(label, x: r.x, y: r.y, clip: r)
            let hint = "  \(Int((e.fraction * 100).rounded(.down)))%  Esc cancels"
            let barWidth = max(0, min(30, r.maxX - end - hint.count))
            let barEnd =
                e.total > 0
                ? b.write(
                    Bars.progress(e.fraction, width: barWidth, unicode: m.capabilities.unicode),
                    x: end, y: r.y, clip: r) : end
            b.write(e.total > 0 ? hint : "Esc cancels", x: barEnd, y: r.y, style: .bold, clip: r)
        } else if let p = m.measuring {
            ModelScreenView.progress(p, r, &b, unicode: m.capabilities.unicode)
        } else if let message = m.message {
            let style =
                m.messageIsError ? Style(fg: m.capabilities.colors > 0 ? .index(1) : .none, attributes: .bold) : .plain
            b.write((m.messageIsError ? "error: " : "") + message, x: r.x, y: r.y, style: style, clip: r)
        }
    }
}

/// The footer: the bindings marked for it, as many as fit.
enum Footer {
    static func render(_ bindings: [KeyBinding], _ r: Rect, _ b: inout CellBuffer) {
        var x = r.x
        for k in bindings where k.footer {
            let text = k.footerText
            if x + k.label.count + text.count + 3 > r.maxX { break }
            x = b.write(k.label, x: x, y: r.y, style: .reverse, clip: r)
            x = b.write(" " + text + "  ", x: x, y: r.y, clip: r)
        }
    }
}
