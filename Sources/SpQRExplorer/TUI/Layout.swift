// Screen geometry shared by the views and the reducer (for mouse clicks, cursor movement and list
// scrolling): the areas of a frame, of the layer screen and of the layer list, and the heatmap mapping.

/// The areas of a frame.
struct Layout: Equatable {
    static let minWidth = 72
    static let minHeight = 20

    let title: Rect
    let body: Rect
    let status: Rect
    let footer: Rect
    /// The layer screen's areas within the body.
    let layer: LayerAreas

    var heatmap: Rect { layer.heatmap }
    var tooSmall: Bool { body.isEmpty || layer.heatmap.width < 8 || layer.heatmap.height < 4 }

    init(width: Int, height: Int) {
        let full = Rect(x: 0, y: 0, width: width, height: height)
        if width < Self.minWidth || height < Self.minHeight {
            let empty = Rect(x: 0, y: 0, width: 0, height: 0)
            (title, body, status, footer) = (empty, empty, empty, empty)
            layer = LayerAreas(body: empty)
            return
        }
        let (t, rest) = full.splitTop(1)
        let (b, bottom) = rest.splitTop(rest.height - 2)
        title = t
        body = b
        status = Rect(x: 0, y: bottom.y, width: width, height: 1)
        footer = Rect(x: 0, y: bottom.y + 1, width: width, height: 1)
        layer = LayerAreas(body: b)
    }
}

/// The layer screen within its area: the heatmap with a title row above, a row-marginal column at its
/// right, a column-marginal row below, the right-hand panel, and the legend on the bottom row across the
/// whole width (the panel stops above it, so nothing covers the legend).
struct LayerAreas: Equatable {
    static let panelWidth = 54

    let heatmapTitle: Rect
    let heatmap: Rect
    let rowMarginal: Rect
    let colMarginal: Rect
    let legend: Rect
    let panel: Rect

    init(body b: Rect) {
        guard !b.isEmpty else {
            let empty = Rect(x: b.x, y: b.y, width: 0, height: 0)
            (heatmapTitle, heatmap, rowMarginal, colMarginal, legend, panel) = (
                empty, empty, empty, empty, empty, empty
            )
            return
        }
        let panelWidth = min(Self.panelWidth, max(30, b.width / 3))
        let (left, right) = b.splitLeft(b.width - panelWidth)
        panel = Rect(x: right.x + 1, y: right.y, width: right.width - 1, height: right.height - 1)
        let mapArea = Rect(x: left.x, y: left.y + 1, width: left.width - 2, height: left.height - 3)
        heatmap = mapArea
        heatmapTitle = Rect(x: mapArea.x, y: left.y, width: mapArea.width + 2, height: 1)
        rowMarginal = Rect(x: mapArea.maxX, y: mapArea.y, width: 1, height: mapArea.height)
        colMarginal = Rect(x: mapArea.x, y: mapArea.maxY, width: mapArea.width, height: 1)
        legend = Rect(x: mapArea.x, y: mapArea.maxY + 1, width: b.width, height: 1)
    }
}

/// The layer list within its area: a header row, one row per layer from the scroll position, and a
/// status row at the bottom (the position, the sort order and the filters).
struct ListGeometry: Equatable {
    let area: Rect

    /// Rows of layers shown at once.
    var listHeight: Int { max(0, area.height - 2) }
    /// Rows that PgUp and PgDn move.
    var page: Int { max(1, listHeight - 1) }
    /// The screen line of the list's status row.
    var statusY: Int { area.maxY - 1 }

    /// The first visible row: the current one, moved just enough to keep the selection in view.
    func scroll(selection: Int, current: Int) -> Int {
        var scroll = max(0, current)
        if selection < scroll { scroll = selection }
        if selection >= scroll + max(1, listHeight) { scroll = selection - max(1, listHeight) + 1 }
        return scroll
    }

    /// The list row drawn on screen line `y` when the list starts at `scroll` (nil on the header, the status row and outside).
    func row(atY y: Int, scroll: Int) -> Int? {
        let row = y - area.y - 1 + scroll
        return y > area.y && y <= area.y + listHeight && row >= 0 ? row : nil
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
        let top = rowRange(pixel: 2 * cy)
        let bottom = rowRange(pixel: 2 * cy + 1)
        return (top.lowerBound..<max(bottom.upperBound, top.upperBound), colRange(cell: cx))
    }

    /// The largest useful zoom: until a weight covers a few cells.
    var maxZoom: Int {
        var z = 1
        while ((rows + z - 1) / z > 2 * area.height || (cols + z - 1) / z > area.width) && z < 1 << 16 { z *= 2 }
        return z * 4
    }
}
