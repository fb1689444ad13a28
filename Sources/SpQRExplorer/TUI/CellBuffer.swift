// The off-screen frame that views render into: a grid of cells (glyph, foreground, background,
// attributes, and the columns the glyph takes, so that wide characters keep the columns after them in
// place). The terminal seam receives whole buffers and sends only the changed cells; tests read
// the buffer's text and colours, never terminal bytes.

/// A colour: the terminal default or an xterm-256 palette index (0–7 and 8–15 are the basic colours).
enum TermColor: Equatable, Hashable, Sendable {
    case none
    case index(UInt8)
}

/// Cell attributes.
struct CellAttributes: OptionSet, Hashable, Sendable {
    let rawValue: UInt8
    static let bold = CellAttributes(rawValue: 1)
    static let reverse = CellAttributes(rawValue: 2)
    static let dim = CellAttributes(rawValue: 8)
}

/// A style for text: colours and attributes.
struct Style: Equatable, Hashable, Sendable {
    var fg: TermColor = .none
    var bg: TermColor = .none
    var attributes: CellAttributes = []

    static let plain = Style()
    static let bold = Style(attributes: .bold)
    static let reverse = Style(attributes: .reverse)
    static let dim = Style(attributes: .dim)
}

/// One screen cell.
struct Cell: Equatable, Sendable {
    var glyph: Unicode.Scalar = " "
    /// Zero-width scalars (combining marks, joiners, variation selectors) drawn with `glyph`.
    var marks: [Unicode.Scalar] = []
    var style: Style = .plain
    /// The columns `glyph` takes (see `DisplayWidth`): 1, or 2 for a wide glyph, whose right half is the
    /// next cell, of width 0.
    var width: UInt8 = 1
}

/// A rectangle of cells.
struct Rect: Equatable, Sendable {
    var x: Int, y: Int, width: Int, height: Int
    var maxX: Int { x + width }
    var maxY: Int { y + height }
    var isEmpty: Bool { width <= 0 || height <= 0 }

    /// Whether the cell at (x, y) lies inside.
    func contains(x px: Int, y py: Int) -> Bool { px >= x && px < maxX && py >= y && py < maxY }

    /// Splits off `n` columns on the left (clamped); returns (left, rest).
    func splitLeft(_ n: Int) -> (Rect, Rect) {
        let w = max(0, min(n, width))
        return (Rect(x: x, y: y, width: w, height: height), Rect(x: x + w, y: y, width: width - w, height: height))
    }

    /// Splits off `n` rows at the top; returns (top, rest).
    func splitTop(_ n: Int) -> (Rect, Rect) {
        let h = max(0, min(n, height))
        return (Rect(x: x, y: y, width: width, height: h), Rect(x: x, y: y + h, width: width, height: height - h))
    }

    /// Inset by `d` cells on every side.
    func inset(_ d: Int) -> Rect {
        Rect(x: x + d, y: y + d, width: max(0, width - 2 * d), height: max(0, height - 2 * d))
    }
}

/// The frame.
struct CellBuffer: Equatable, Sendable {
    let width: Int
    let height: Int
    private(set) var cells: [Cell]

    init(width: Int, height: Int) {
        self.width = max(0, width)
        self.height = max(0, height)
        cells = [Cell](repeating: Cell(), count: self.width * self.height)
    }

    var bounds: Rect { Rect(x: 0, y: 0, width: width, height: height) }

    subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set { place(newValue, x, y, clip: nil) }
    }

    /// Sets one cell (clipped to the buffer and to `clip` when given).
    mutating func set(_ x: Int, _ y: Int, _ glyph: Unicode.Scalar, _ style: Style = .plain, clip: Rect? = nil) {
        let w = DisplayWidth.of(glyph)
        guard w > 0 else { return }
        place(Cell(glyph: glyph, style: style, width: UInt8(w)), x, y, clip: clip)
    }

    /// Writes `text` from (x, y), each character in as many cells as it takes columns (combining marks go
    /// with the character before them), clipped to `clip` (or the buffer); returns the end x. A wide
    /// character that would straddle the clip's right edge is not drawn.
    @discardableResult
    mutating func write(_ text: String, x: Int, y: Int, style: Style = .plain, clip: Rect? = nil) -> Int {
        var cx = x
        var last: Int?
        for scalar in text.unicodeScalars {
            let w = DisplayWidth.of(scalar)
            if w == 0 {
                if let i = last { cells[i].marks.append(scalar) }
                continue
            }
            if let c = clip, cx >= c.maxX { break }
            // Control characters would move the terminal's cursor: they show as U+FFFD.
            let glyph = scalar.properties.generalCategory == .control ? "\u{FFFD}" : scalar
            last = place(Cell(glyph: glyph, style: style, width: UInt8(w)), cx, y, clip: clip) ? y * width + cx : nil
            cx += w
        }
        return cx
    }

    /// Puts `cell` at (x, y) when all its columns lie inside the buffer and `clip`; returns whether it did.
    /// A wide glyph is never left in halves: one partly overwritten leaves a blank in its other half.
    @discardableResult
    private mutating func place(_ cell: Cell, _ x: Int, _ y: Int, clip: Rect?) -> Bool {
        let w = max(1, Int(cell.width))
        if let c = clip, x < c.x || y < c.y || x + w > c.maxX || y >= c.maxY { return false }
        guard x >= 0, y >= 0, x + w <= width, y < height else { return false }
        for cx in x..<(x + w) { breakWide(cx, y) }
        cells[y * width + x] = cell
        if w == 2 { cells[y * width + x + 1] = Cell(glyph: " ", style: cell.style, width: 0) }
        return true
    }

    /// Before the cell at (x, y) is overwritten: blanks the other half of a wide glyph that covers it.
    private mutating func breakWide(_ x: Int, _ y: Int) {
        let i = y * width + x
        if cells[i].width == 2, x + 1 < width { cells[i + 1] = Cell(style: cells[i + 1].style) }
        if cells[i].width == 0, x > 0 { cells[i - 1] = Cell(style: cells[i - 1].style) }
    }

    /// Fills a rectangle.
    mutating func fill(_ r: Rect, _ glyph: Unicode.Scalar = " ", _ style: Style = .plain) {
        for y in max(0, r.y)..<min(height, r.maxY) {
            for x in max(0, r.x)..<min(width, r.maxX) {
                breakWide(x, y)
                cells[y * width + x] = Cell(glyph: glyph, style: style)
            }
        }
    }

    /// Replaces every non-ASCII glyph with an ASCII stand-in, for terminals whose locale is not UTF-8.
    mutating func asciiFallback() {
        let table: [Unicode.Scalar: Unicode.Scalar] = [
            "×": "x", "›": ">", "–": "-", "—": "-", "−": "-", "·": ".", "²": "2", "▐": "|", "▂": "_", "●": "o",
            "─": "-", "│": "|", "▸": ">", "▀": "#", "▣": "X", "█": "#", "░": ".", "…": ".", "ᵀ": "T", "↑": "^",
            "↓": "v", "←": "<", "→": ">",
        ]
        for i in cells.indices {
            cells[i].marks = []
            // A wide glyph becomes two narrow stand-ins, so that the columns stay where they were.
            if cells[i].width != 1 {
                cells[i].glyph = "?"
                cells[i].width = 1
            } else if !cells[i].glyph.isASCII {
                cells[i].glyph = table[cells[i].glyph] ?? "?"
            }
        }
    }

    /// The glyphs as lines of text (for tests and snapshots): a wide glyph once, marks after their glyph.
    var text: String {
        (0..<height).map { y in
            var line = String.UnicodeScalarView()
            for cell in cells[(y * width)..<((y + 1) * width)] where cell.width > 0 {
                line.append(cell.glyph)
                line.append(contentsOf: cell.marks)
            }
            return String(line)
        }.joined(separator: "\n")
    }

    /// The indices of the cells that differ from `previous` (all of them when the sizes differ).
    func changes(from previous: CellBuffer?) -> [Int] {
        guard let p = previous, p.width == width, p.height == height else { return Array(cells.indices) }
        return cells.indices.filter { cells[$0] != p.cells[$0] }
    }
}
