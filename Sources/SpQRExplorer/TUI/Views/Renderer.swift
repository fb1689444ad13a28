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
            if let m = LayerModel(s, layer) { LayerView.render(m, layout.body, &b) }
        } else if s.modelScreen.isOpen {
            ModelScreenView.render(ModelScreenModel(s), layout.body, &b)
        } else {
            BrowserView.render(BrowserModel(s), layout.body, &b)
        }
        StatusLine.render(StatusModel(s), layout.status, &b)
        Footer.render(KeyBindings.active(s.screen), layout.footer, &b)
        if s.showHelp { HelpView.render(HelpModel(s), layout.body, &b) }
        if !s.capabilities.unicode { b.asciiFallback() }
        return b
    }
}

/// What shows instead of the screen when the terminal is smaller than the explorer needs.
enum TooSmallView {
    static func render(width: Int, height: Int, _ b: inout CellBuffer) {
        let lines = [
            "Terminal too small (\(width)x\(height)).",
            "The explorer needs at least \(Layout.minWidth)x\(Layout.minHeight).",
            "Enlarge the window, or press q to quit.",
        ]
        for (i, l) in lines.enumerated() where i < height {
            b.write(String(l.prefix(max(0, width))), x: 0, y: i, style: i == 0 ? .bold : .plain)
        }
    }
}
