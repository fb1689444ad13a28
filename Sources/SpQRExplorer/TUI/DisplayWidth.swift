// The columns a character takes on a terminal, counted as wcwidth(3) counts them (Markus Kuhn's
// reference implementation, with the wide ranges of Unicode's East Asian Width property):
//     2  East Asian Wide and Fullwidth characters (CJK, Hangul syllables, fullwidth forms) and emoji
//        presented as emoji;
//     0  combining marks, format characters (zero-width joiner, variation selectors) and Hangul medial
//        vowels and final consonants, which draw over or join the character before them;
//     1  everything else.

enum DisplayWidth {
    /// The wide (two-column) ranges outside the emoji-presentation property.
    static let wide: [ClosedRange<UInt32>] = [
        0x1100...0x115F, 0x2329...0x232A, 0x2E80...0x303E, 0x3041...0x33FF, 0x3400...0x4DBF, 0x4E00...0x9FFF,
        0xA000...0xA4CF, 0xA960...0xA97F, 0xAC00...0xD7A3, 0xF900...0xFAFF, 0xFE10...0xFE19, 0xFE30...0xFE6F,
        0xFF00...0xFF60, 0xFFE0...0xFFE6, 0x16FE0...0x16FE4, 0x17000...0x18AFF, 0x1B000...0x1B2FF,
        0x1F300...0x1F64F, 0x1F900...0x1F9FF, 0x20000...0x2FFFD, 0x30000...0x3FFFD,
    ]

    /// The columns `s` takes.
    static func of(_ s: Unicode.Scalar) -> Int {
        let v = s.value
        if v < 0x300 { return v == 0 ? 0 : 1 }  // Latin: no marks, nothing wide (controls are drawn as U+FFFD)
        switch s.properties.generalCategory {
        case .nonspacingMark, .enclosingMark, .format: return 0
        default: break
        }
        if (0x1160...0x11FF).contains(v) { return 0 }
        if s.properties.isEmojiPresentation { return 2 }
        return wide.contains { $0.contains(v) } ? 2 : 1
    }

    /// The columns `text` takes.
    static func of(_ text: String) -> Int {
        text.unicodeScalars.reduce(0) { $0 + of($1) }
    }

    /// The longest end of `text`, in whole characters, that fits in `columns`.
    static func suffix(_ text: String, fitting columns: Int) -> String {
        var used = 0
        var start = text.endIndex
        while start > text.startIndex {
            let previous = text.index(before: start)
            let w = of(String(text[previous]))
            if used + w > columns { break }
            used += w
            start = previous
        }
        return String(text[start...])
    }
}
