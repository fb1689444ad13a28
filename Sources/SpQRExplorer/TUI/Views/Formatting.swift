// Number formatting and text bars shared by the views.

import Foundation

/// Number formatting shared by the views.
enum Num {
    static func f(_ v: Double, _ digits: Int = 4) -> String { ReportFormat.fmt(v, digits) }
    static func e(_ v: Double) -> String { ReportFormat.sci(v) }
    static func pct(_ v: Double) -> String { ReportFormat.pct(v) }
    static func bytes(_ n: Int) -> String { ReportFormat.bytes(n) }
    static func short(_ v: Double) -> String {
        guard v.isFinite else { return "-" }
        if v == 0 { return "0" }
        return abs(v) >= 0.01 && abs(v) < 1000 ? String(format: "%.3g", v) : String(format: "%.2e", v)
    }
}

/// Text bars for marginals and progress.
enum Bars {
    static let unicode: [Unicode.Scalar] = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"]
    static let ascii: [Unicode.Scalar] = [".", ":", "-", "=", "+", "*", "#", "@"]

    static func glyph(_ t: Double, unicode: Bool) -> Unicode.Scalar {
        if t <= 0 { return " " }
        let set = unicode ? Self.unicode : Self.ascii
        return set[min(set.count - 1, max(0, Int(t * Double(set.count))))]
    }

    /// A slider's track `width` cells wide with its knob at `position` ∈ [0, 1].
    static func knob(_ position: Double, width: Int, unicode: Bool) -> String {
        let k = Int((max(0, min(1, position)) * Double(width - 1)).rounded())
        return (0..<width).map { $0 == k ? (unicode ? "●" : "o") : (unicode ? "─" : "-") }.joined()
    }

    /// A horizontal progress bar `width` cells wide.
    static func progress(_ f: Double, width: Int, unicode: Bool) -> String {
        let filled = Int((max(0, min(1, f)) * Double(width)).rounded())
        return String(repeating: unicode ? "█" : "#", count: filled)
            + String(repeating: unicode ? "░" : ".", count: max(0, width - filled))
    }
}
