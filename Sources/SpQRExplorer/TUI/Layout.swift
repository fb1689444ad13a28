// Screen geometry shared by the views and the reducer (for mouse clicks and cursor movement).

/// The areas of a frame.
struct Layout: Equatable {
    static let minWidth = 72
    static let minHeight = 20
    static let panelWidth = 54

    let title: Rect
    let body: Rect
    let status: Rect
    let footer: Rect
    /// Layer screen: heatmap, its marginals and legend, and the right-hand panel.
    let heatmap: Rect
    let rowMarginal: Rect
    let colMarginal: Rect
    let legend: Rect
    let panel: Rect

    var tooSmall: Bool { body.isEmpty || heatmap.width < 8 || heatmap.height < 4 }

    init(width: Int, height: Int) {
        let full = Rect(x: 0, y: 0, width: width, height: height)
        if width < Self.minWidth || height < Self.minHeight {
            let empty = Rect(x: 0, y: 0, width: 0, height: 0)
            (title, body, status, footer, heatmap, rowMarginal, colMarginal, legend, panel) = (empty, empty, empty, empty, empty, empty, empty, empty, empty)
            return
        }
        let (t, rest) = full.splitTop(1)
        let (b, bottom) = rest.splitTop(rest.height - 2)
        title = t
        body = b
        status = Rect(x: 0, y: bottom.y, width: width, height: 1)
        footer = Rect(x: 0, y: bottom.y + 1, width: width, height: 1)
        let panelWidth = min(Self.panelWidth, max(30, width / 3))
        let (left, right) = b.splitLeft(b.width - panelWidth)
        panel = Rect(x: right.x + 1, y: right.y, width: right.width - 1, height: right.height)
        // Heatmap: a title row, the map, a column-marginal row and a legend row; a marginal column at right.
        let mapArea = Rect(x: left.x, y: left.y + 1, width: left.width - 2, height: left.height - 3)
        heatmap = mapArea
        rowMarginal = Rect(x: mapArea.maxX, y: mapArea.y, width: 1, height: mapArea.height)
        colMarginal = Rect(x: mapArea.x, y: mapArea.maxY, width: mapArea.width, height: 1)
        legend = Rect(x: mapArea.x, y: mapArea.maxY + 1, width: left.width, height: 1)
    }
}

/// The mapping between heatmap cells and the matrix for a viewport.
struct HeatmapGeometry: Equatable {
    let rows: Int
    let cols: Int
    let area: Rect
    let viewport: Viewport

    var visibleRows: Int { max(1, (rows + viewport.zoom - 1) / viewport.zoom) }
    var visibleCols: Int { max(1, (cols + viewport.zoom - 1) / viewport.zoom) }

    /// Matrix rows shown by pixel row `py` (two pixels per cell row).
    func rowRange(pixel py: Int) -> Range<Int> {
        let pixels = max(1, 2 * area.height)
        let a = viewport.row0 + py * visibleRows / pixels
        let b = viewport.row0 + (py + 1) * visibleRows / pixels
        return min(a, rows - 1)..<min(max(b, a + 1), rows)
    }

    /// Matrix columns shown by cell column `cx`.
    func colRange(cell cx: Int) -> Range<Int> {
        let w = max(1, area.width)
        let a = viewport.col0 + cx * visibleCols / w
        let b = viewport.col0 + (cx + 1) * visibleCols / w
        return min(a, cols - 1)..<min(max(b, a + 1), cols)
    }

    /// The rows and columns under the cell at (cx, cy).
    func region(cellX cx: Int, cellY cy: Int) -> (rows: Range<Int>, cols: Range<Int>) {
        let top = rowRange(pixel: 2 * cy), bottom = rowRange(pixel: 2 * cy + 1)
        return (top.lowerBound..<max(bottom.upperBound, top.upperBound), colRange(cell: cx))
    }

    /// The largest useful zoom: until a weight covers a few cells.
    var maxZoom: Int {
        var z = 1
        while ((rows + z - 1) / z > 2 * area.height || (cols + z - 1) / z > area.width) && z < 1 << 16 { z *= 2 }
        return z * 4
    }
}
