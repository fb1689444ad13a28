// The reducer's viewport: the layer-list selection and scrolling, the heatmap cursor, zoom and pan, and
// the mouse. Screen geometry comes from Layout.swift, which the views use too.

import SpQRCore

extension Reducer {
    /// Moves the layer-list selection and scrolls just enough to keep it in view.
    static func moveSelection(_ s: inout AppState, _ a: Action) {
        let n = s.visibleRows.count
        guard n > 0 else { return }
        let list = ListGeometry(area: Layout(width: s.width, height: s.height).body)
        let page = list.page
        switch a {
        case .up: s.selection -= 1
        case .down: s.selection += 1
        case .pageUp: s.selection -= page
        case .pageDown: s.selection += page
        case .home: s.selection = 0
        case .end: s.selection = n - 1
        default: break
        }
        s.selection = max(0, min(n - 1, s.selection))
        s.browserScroll = list.scroll(selection: s.selection, current: s.browserScroll)
    }

    /// How the open layer maps onto the heatmap area at the current viewport (nil when no layer is open).
    static func geometry(_ s: AppState) -> HeatmapGeometry? {
        guard let shape = s.layer?.row.shape, shape.count == 2 else { return nil }
        return HeatmapGeometry(
            rows: shape[0], cols: shape[1], area: Layout(width: s.width, height: s.height).heatmap, viewport: s.viewport
        )
    }

    /// Moves the heatmap cursor; at an edge of the area, pans a quarter of the view instead.
    static func moveCursor(_ s: inout AppState, _ a: Action) {
        guard let g = geometry(s) else { return }
        var v = s.viewport
        let stepR = max(1, g.visibleRows / 4)
        let stepC = max(1, g.visibleCols / 4)
        switch a {
        case .up:
            if v.cursorY > 0 { v.cursorY -= 1 } else { v.row0 -= stepR }
        case .down:
            if v.cursorY < g.area.height - 1 { v.cursorY += 1 } else { v.row0 += stepR }
        case .left:
            if v.cursorX > 0 { v.cursorX -= 1 } else { v.col0 -= stepC }
        case .right:
            if v.cursorX < g.area.width - 1 { v.cursorX += 1 } else { v.col0 += stepC }
        case .pageUp: v.row0 -= g.visibleRows
        case .pageDown: v.row0 += g.visibleRows
        case .home:
            v.cursorX = 0
            v.cursorY = 0
            v.row0 = 0
            v.col0 = 0
        case .end:
            v.cursorX = g.area.width - 1
            v.cursorY = g.area.height - 1
        default: break
        }
        s.viewport = v
        clampViewport(&s)
    }

    /// Zooms in, out or back to the whole matrix around the cursor.
    static func zoom(_ s: inout AppState, _ a: Action) {
        guard let g = geometry(s) else { return }
        let (rr, cc) = g.region(cellX: s.viewport.cursorX, cellY: s.viewport.cursorY)
        var v = s.viewport
        switch a {
        case .zoomIn: v.zoom = min(g.maxZoom, v.zoom * 2)
        case .zoomOut: v.zoom = max(1, v.zoom / 2)
        default: v = Viewport()
        }
        // Keep the weight under the cursor under the cursor.
        let ng = HeatmapGeometry(rows: g.rows, cols: g.cols, area: g.area, viewport: v)
        v.row0 = rr.lowerBound - v.cursorY * 2 * ng.visibleRows / max(1, 2 * g.area.height)
        v.col0 = cc.lowerBound - v.cursorX * ng.visibleCols / max(1, g.area.width)
        s.viewport = v
        clampViewport(&s)
    }

    /// Keeps the zoom, the view and the cursor inside the matrix and the area (after a resize, a pan, a zoom).
    static func clampViewport(_ s: inout AppState) {
        guard let g = geometry(s) else { return }
        var v = s.viewport
        v.zoom = max(1, min(v.zoom, g.maxZoom))
        let ng = HeatmapGeometry(rows: g.rows, cols: g.cols, area: g.area, viewport: v)
        v.row0 = max(0, min(v.row0, g.rows - ng.visibleRows))
        v.col0 = max(0, min(v.col0, g.cols - ng.visibleCols))
        v.cursorX = max(0, min(v.cursorX, max(0, g.area.width - 1)))
        v.cursorY = max(0, min(v.cursorY, max(0, g.area.height - 1)))
        s.viewport = v
    }

    /// Clicks select a row or place the cursor; the wheel scrolls the list or zooms at the pointer.
    static func mouse(_ s: inout AppState, _ m: MouseEvent) -> [Effect] {
        let layout = Layout(width: s.width, height: s.height)
        switch m {
        case .click(let x, let y):
            if s.onLayer {
                placeCursor(&s, x: x, y: y, in: layout.heatmap)
            } else {
                let list = ListGeometry(area: layout.body)
                if let row = list.row(atY: y, scroll: s.browserScroll), row < s.visibleRows.count { s.selection = row }
                return statisticsEffect(s)
            }
        case .wheelUp(let x, let y), .wheelDown(let x, let y):
            let up: Bool = { if case .wheelUp = m { return true } else { return false } }()
            if s.onLayer {
                placeCursor(&s, x: x, y: y, in: layout.heatmap)
                zoom(&s, up ? .zoomIn : .zoomOut)
            } else {
                moveSelection(&s, up ? .up : .down)
            }
        }
        return []
    }

    /// Puts the heatmap cursor on the cell at screen (x, y) when that cell is on the heatmap.
    static func placeCursor(_ s: inout AppState, x: Int, y: Int, in heatmap: Rect) {
        guard heatmap.contains(x: x, y: y) else { return }
        s.viewport.cursorX = x - heatmap.x
        s.viewport.cursorY = y - heatmap.y
    }
}
