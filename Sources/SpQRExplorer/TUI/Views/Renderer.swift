// The frame: a pure function from the state to a cell buffer. It lays out the screen and hands each view
// its area and the model of what it draws; views never read the state or the terminal themselves.

import SpQRCore

enum Renderer {
    static func render(_ s: AppState) -> CellBuffer {
        var b = CellBuffer(width: s.width, height: s.height)
        let layout = Layout(width: s.width, height: s.height)
        if layout.body.isEmpty || (s.onLayer && layout.tooSmall) {
            TooSmallView.render(width: s.width, height: s.height, &b)
            return b
        }
        TitleBar.render(TitleModel(s), layout.title, &b)
        if s.onLayer, let layer = s.layer {
            if let m = LayerModel(s, layer) {
                if let t = TradeoffModel(s) {
                    TradeoffView.render(t, panel: m.panel, layout.body, &b)
                } else {
                    LayerView.render(m, layout.body, &b)
                }
            }
        } else if s.modelScreen.isOpen {
            ModelScreenView.render(ModelScreenModel(s), layout.body, &b)
        } else {
            BrowserView.render(BrowserModel(s), layout.body, &b)
        }
        StatusLine.render(StatusModel(s), layout.status, &b)
        Footer.render(s.activeBindings, layout.footer, &b)
        if s.showHelp { HelpView.render(HelpModel(s), layout.body, &b) }
        if !s.capabilities.unicode { b.asciiFallback() }
        return b
    }
}

/// What shows instead of the screen when the terminal is smaller than the explorer needs: each line in the
/// longest of its wordings that fits the width (the shortest, cut, below 10 columns), as many lines as fit.
enum TooSmallView {
    static func lines(width: Int, height: Int) -> [String] {
        let wordings = [
            [
                "Terminal too small (\(width)x\(height)).", "Too small: \(width)x\(height)", "\(width)x\(height)",
            ],
            [
                "The explorer needs at least \(Layout.minWidth)x\(Layout.minHeight).",
                "Needs at least \(Layout.minWidth)x\(Layout.minHeight).", "Need \(Layout.minWidth)x\(Layout.minHeight)",
            ],
            ["Enlarge the window, or press q to quit.", "Enlarge it, or press q.", "q quits"],
        ]
        return wordings.prefix(max(0, height)).map { w in
            String((w.first { DisplayWidth.of($0) <= width } ?? w.last!).prefix(max(0, width)))
        }
    }

    static func render(width: Int, height: Int, _ b: inout CellBuffer) {
        for (i, l) in lines(width: width, height: height).enumerated() {
            b.write(l, x: 0, y: i, style: i == 0 ? .bold : .plain)
        }
    }
}
