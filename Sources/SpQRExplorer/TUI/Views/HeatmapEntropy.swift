// How much of the colour scale a heatmap uses: the Shannon entropy H = −Σ p_i log2 p_i of the colour
// indices of its pixels (both half-block pixels of each cell: foreground = upper, background = lower),
// read back from the rendered cell buffer. A map in one colour scores 0 bits; a 20-colour ramp used
// evenly scores log2 20 ≈ 4.32 bits.

import Foundation

enum HeatmapEntropy {
    /// Entropy in bits of the colours of the cells of `area` in `b`. A half-block cell counts its
    /// foreground and background; any other cell (the cursor, a fallback glyph) counts its background,
    /// or its glyph when it has no colour.
    static func colourEntropy(_ b: CellBuffer, area: Rect) -> Double {
        var counts: [String: Int] = [:]
        func add(_ c: TermColor, _ glyph: Unicode.Scalar) {
            switch c {
            case .index(let i): counts["c\(i)", default: 0] += 1
            case .none: counts["g\(glyph)", default: 0] += 1
            }
        }
        for y in area.y..<min(area.maxY, b.height) {
            for x in area.x..<min(area.maxX, b.width) {
                let cell = b[x, y]
                if cell.glyph == "▀" {
                    add(cell.style.fg, cell.glyph)
                    add(cell.style.bg, cell.glyph)
                } else {
                    add(cell.style.bg, cell.glyph)
                }
            }
        }
        return entropy(counts.values)
    }

    /// H = −Σ p_i log2 p_i of the symbols counted in `counts` (0 when there are none).
    static func entropy(_ counts: some Collection<Int>) -> Double {
        let n = Double(counts.reduce(0, +))
        guard n > 0 else { return 0 }
        return counts.reduce(0.0) { h, c in
            let p = Double(c) / n
            return h - p * log2(p)
        }
    }
}
