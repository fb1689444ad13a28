// Colour scales for the heatmaps: a perceptual, colour-blind-safe sequential ramp (viridis-like, dark
// purple → blue → green → yellow) and a diverging ramp (blue ↔ neutral ↔ red) for signed maps, in the
// xterm 256-colour palette, with 16- and 8-colour fallbacks and, without colour, a glyph-density ramp.

enum ColorRamp {
    /// Viridis approximated in the 6×6×6 xterm cube.
    static let sequential256: [UInt8] = [
        53, 54, 55, 61, 62, 67, 68, 31, 30, 37, 36, 72, 71, 107, 113, 149, 148, 184, 220, 226,
    ]
    static let diverging256: [UInt8] = [
        19, 20, 26, 32, 38, 74, 110, 146, 188, 231, 224, 217, 210, 203, 196, 160, 124, 88,
    ]
    static let sequential16: [UInt8] = [5, 4, 12, 6, 14, 2, 10, 3, 11]
    static let diverging16: [UInt8] = [4, 12, 6, 7, 15, 11, 3, 9, 1]
    /// Seven of the eight colours, black to white: sparse maps (outlier density) keep more levels than with five.
    static let sequential8: [UInt8] = [0, 5, 4, 6, 2, 3, 7]
    static let diverging8: [UInt8] = [4, 6, 7, 3, 1]
    /// Without colour: density glyphs (ASCII so that they also work without UTF-8).
    static let glyphs: [Unicode.Scalar] = [" ", ".", ":", "-", "=", "+", "*", "#", "%", "@"]

    static func palette(colors: Int, signed: Bool) -> [UInt8] {
        switch colors {
        case 256...: return signed ? diverging256 : sequential256
        case 16..<256: return signed ? diverging16 : sequential16
        case 8..<16: return signed ? diverging8 : sequential8
        default: return []
        }
    }

    /// The colour for a position t ∈ [0, 1].
    static func color(_ t: Float, colors: Int, signed: Bool) -> TermColor {
        let p = palette(colors: colors, signed: signed)
        guard !p.isEmpty else { return .none }
        let i = min(p.count - 1, max(0, Int((t * Float(p.count)).rounded(.down))))
        return .index(p[i])
    }

    /// The glyph for t when there is no colour.
    static func glyph(_ t: Float) -> Unicode.Scalar {
        glyphs[min(glyphs.count - 1, max(0, Int((t * Float(glyphs.count)).rounded(.down))))]
    }
}
