// A picture as 8-bit RGB pixels, row-major, with the few drawing operations the heatmap and plot
// pictures need (filled rectangles, lines, text in the 5×7 bitmap font), and the RGB of the xterm
// 256-colour palette the heatmap ramps are written in (xterm's 256colres.pl: the 6×6×6 cube with levels
// 0, 95, 135, 175, 215, 255 and the grey ramp 8 + 10·k), so a picture has the colours of the screen.

/// An RGB colour.
struct RGB: Equatable, Sendable {
    var r: UInt8
    var g: UInt8
    var b: UInt8

    static let white = RGB(r: 255, g: 255, b: 255)
    static let black = RGB(r: 0, g: 0, b: 0)
    static let grey = RGB(r: 128, g: 128, b: 128)
    static let lightGrey = RGB(r: 220, g: 220, b: 220)

    /// The 16 base colours as xterm draws them.
    static let base: [RGB] = [
        (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0), (0, 0, 238), (205, 0, 205), (0, 205, 205),
        (229, 229, 229), (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0), (92, 92, 255), (255, 0, 255),
        (0, 255, 255), (255, 255, 255),
    ].map { RGB(r: $0.0, g: $0.1, b: $0.2) }

    /// The colour of xterm palette entry `i`.
    static func xterm(_ i: UInt8) -> RGB {
        switch i {
        case 0..<16: return base[Int(i)]
        case 16..<232:
            let levels: [UInt8] = [0, 95, 135, 175, 215, 255]
            let k = Int(i) - 16
            return RGB(r: levels[k / 36], g: levels[k / 6 % 6], b: levels[k % 6])
        default:
            let v = UInt8(8 + 10 * (Int(i) - 232))
            return RGB(r: v, g: v, b: v)
        }
    }
}

/// Pixels of a picture.
struct RGBImage: Sendable {
    let width: Int
    let height: Int
    /// r, g, b of each pixel, row by row.
    private(set) var bytes: [UInt8]

    init(width: Int, height: Int, background: RGB = .white) {
        self.width = width
        self.height = height
        bytes = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, width: width, height: height, background)
    }

    subscript(x: Int, y: Int) -> RGB {
        get {
            let k = 3 * (y * width + x)
            return RGB(r: bytes[k], g: bytes[k + 1], b: bytes[k + 2])
        }
        set {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            let k = 3 * (y * width + x)
            bytes[k] = newValue.r
            bytes[k + 1] = newValue.g
            bytes[k + 2] = newValue.b
        }
    }

    /// Fills the rectangle (clipped to the picture).
    mutating func fill(x: Int, y: Int, width w: Int, height h: Int, _ c: RGB) {
        let x0 = max(0, x)
        let x1 = min(width, x + w)
        guard x0 < x1 else { return }
        for yy in max(0, y)..<max(max(0, y), min(height, y + h)) {
            var k = 3 * (yy * width + x0)
            for _ in x0..<x1 {
                bytes[k] = c.r
                bytes[k + 1] = c.g
                bytes[k + 2] = c.b
                k += 3
            }
        }
    }

    /// A straight line from (x0, y0) to (x1, y1), one pixel wide.
    mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: RGB) {
        let n = max(abs(x1 - x0), abs(y1 - y0), 1)
        for i in 0...n {
            self[x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n] = c
        }
    }

    /// Pixels `text` takes at `scale`: 6 per character (5 and a space) and 7 high, times `scale`.
    static func textWidth(_ text: String, scale: Int) -> Int { text.count * (BitmapFont.width + 1) * scale }

    /// Draws `text` with its top-left corner at (x, y); returns the x after it.
    @discardableResult
    mutating func text(_ text: String, x: Int, y: Int, scale: Int = 1, _ c: RGB = .black) -> Int {
        var cx = x
        for ch in text {
            for (row, bits) in BitmapFont.rows(ch).enumerated() {
                for (col, bit) in bits.enumerated() where bit == "#" {
                    fill(x: cx + col * scale, y: y + row * scale, width: scale, height: scale, c)
                }
            }
            cx += (BitmapFont.width + 1) * scale
        }
        return cx
    }
}
