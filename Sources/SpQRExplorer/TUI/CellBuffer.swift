// The off-screen frame that views render into: a grid of cells (glyph, foreground, background,
// attributes). The terminal seam receives whole buffers and sends only the changed cells; tests read
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
    static let underline = CellAttributes(rawValue: 4)
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
    static func fg(_ c: UInt8, _ a: CellAttributes = []) -> Style { Style(fg: .index(c), attributes: a) }
}

/// One screen cell.
struct Cell: Equatable, Sendable {
    var glyph: Unicode.Scalar = " "
    var style: Style = .plain
}

/// A rectangle of cells.
struct Rect: Equatable, Sendable {
    var x: Int, y: Int, width: Int, height: Int
    var maxX: Int { x + width }
    var maxY: Int { y + height }
    var isEmpty: Bool { width <= 0 || height <= 0 }

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
    func inset(_ d: Int) -> Rect { Rect(x: x + d, y: y + d, width: max(0, width - 2 * d), height: max(0, height - 2 * d)) }
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
        set { if x >= 0 && y >= 0 && x < width && y < height { cells[y * width + x] = newValue } }
    }

    /// Sets one cell (clipped to the buffer and to `clip` when given).
    mutating func set(_ x: Int, _ y: Int, _ glyph: Unicode.Scalar, _ style: Style = .plain, clip: Rect? = nil) {
        if let c = clip, x < c.x || y < c.y || x >= c.maxX || y >= c.maxY { return }
        guard x >= 0, y >= 0, x < width, y < height else { return }
        cells[y * width + x] = Cell(glyph: glyph, style: style)
    }

    /// Writes `text` from (x, y), one cell per scalar, clipped to `clip` (or the buffer); returns the end x.
    @discardableResult
    mutating func write(_ text: String, x: Int, y: Int, style: Style = .plain, clip: Rect? = nil) -> Int {
        var cx = x
        for scalar in text.unicodeScalars {
            if let c = clip, cx >= c.maxX { break }
            set(cx, y, scalar, style, clip: clip)
            cx += 1
        }
        return cx
    }

    /// Fills a rectangle.
    mutating func fill(_ r: Rect, _ glyph: Unicode.Scalar = " ", _ style: Style = .plain) {
        for y in max(0, r.y)..<min(height, r.maxY) {
            for x in max(0, r.x)..<min(width, r.maxX) { cells[y * width + x] = Cell(glyph: glyph, style: style) }
        }
    }

    /// Replaces every non-ASCII glyph with an ASCII stand-in, for terminals whose locale is not UTF-8.
    mutating func asciiFallback() {
        let table: [Unicode.Scalar: Unicode.Scalar] = [
            "×": "x", "›": ">", "–": "-", "—": "-", "−": "-", "·": ".", "²": "2", "▐": "|", "▂": "_", "●": "o",
            "─": "-", "│": "|", "▸": ">", "▀": "#", "▣": "X", "█": "#", "░": ".", "…": ".", "ᵀ": "T", "↑": "^", "↓": "v", "←": "<", "→": ">",
        ]
        for i in cells.indices where !cells[i].glyph.isASCII {
            cells[i].glyph = table[cells[i].glyph] ?? "?"
        }
    }

    /// The glyphs as lines of text (for tests and snapshots).
    var text: String {
        (0..<height).map { y in
            String(String.UnicodeScalarView((0..<width).map { cells[y * width + $0].glyph }))
        }.joined(separator: "\n")
    }

    /// The indices of the cells that differ from `previous` (all of them when the sizes differ).
    func changes(from previous: CellBuffer?) -> [Int] {
        guard let p = previous, p.width == width, p.height == height else { return Array(cells.indices) }
        return cells.indices.filter { cells[$0] != p.cells[$0] }
    }
}
