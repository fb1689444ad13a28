// The plot of relative proxy error (log scale, up) against average bits (right), shared by `sweep` (text on
// stderr) and the explorer's trade-off view (cells): one mapping from a point to a plot cell,
//
//     column = round((bits − bits_min) / (bits_max − bits_min) · (width − 1))
//     row    = round((log₁₀ e_max − log₁₀ e) / (log₁₀ e_max − log₁₀ e_min) · (height − 1))
//
// over the points with a positive, finite error (a single value on an axis goes to its middle), with
// tick labels at the top, middle and bottom rows and the bit range under the axis.

import Foundation

/// The axes of an error–bits plot: where each point goes in a `width` × `height` grid of cells.
struct ErrorBitsAxes: Equatable {
    let width: Int
    let height: Int
    let bitsMin: Double
    let bitsMax: Double
    let logErrorMin: Double
    let logErrorMax: Double

    /// Columns taken by the tick labels left of the axis line.
    static let labelWidth = 10
    /// The caption under the plot.
    static let caption = "avg bits →   rel proxy error ↑ (log)"

    /// Whether a point can be placed: a finite bit cost and a positive, finite error.
    static func plottable(bits: Double, error: Double) -> Bool { bits.isFinite && error > 0 && error.isFinite }

    /// Axes spanning the plottable points; nil when there is none or the grid is empty.
    init?(points: [(bits: Double, error: Double)], width: Int, height: Int) {
        let usable = points.filter { Self.plottable(bits: $0.bits, error: $0.error) }
        guard !usable.isEmpty, width > 0, height > 0 else { return nil }
        self.width = width
        self.height = height
        bitsMin = usable.map(\.bits).min()!
        bitsMax = usable.map(\.bits).max()!
        logErrorMin = log10(usable.map(\.error).min()!)
        logErrorMax = log10(usable.map(\.error).max()!)
    }

    /// The cell (column, row) of a plottable point.
    func cell(bits: Double, error: Double) -> (x: Int, y: Int) {
        let x =
            bitsMax > bitsMin ? Int(((bits - bitsMin) / (bitsMax - bitsMin) * Double(width - 1)).rounded()) : width / 2
        let y =
            logErrorMax > logErrorMin
            ? Int(((logErrorMax - log10(error)) / (logErrorMax - logErrorMin) * Double(height - 1)).rounded())
            : height / 2
        return (min(max(x, 0), width - 1), min(max(y, 0), height - 1))
    }

    /// The tick label of row `r` (top, middle and bottom rows), or "".
    func tick(row r: Int) -> String {
        guard r == 0 || r == height - 1 || r == height / 2 else { return "" }
        let y = logErrorMax - (logErrorMax - logErrorMin) * Double(r) / Double(max(height - 1, 1))
        return String(format: "%.2e", pow(10, y))
    }

    /// The bit range under the axis: the lowest bits at the left, the highest at the right.
    var bitLabels: (left: String, right: String) { (String(format: "%.3f", bitsMin), String(format: "%.3f", bitsMax)) }

    /// The line under the axis line: the two bit labels spread over `width` columns.
    var bitLine: String {
        let (left, right) = bitLabels
        return left + String(repeating: " ", count: max(1, width - left.count - right.count)) + right
    }
}

/// The plot as text: `●` on the Pareto front, `·` elsewhere, the front in bold green when `colour`.
enum ErrorBitsPlot {
    static func render(_ points: [(bits: Double, error: Double, front: Bool)], width: Int, height: Int, colour: Bool)
        -> String
    {
        guard let axes = ErrorBitsAxes(points: points.map { ($0.bits, $0.error) }, width: width, height: height) else {
            return "(no points with a positive, finite error to plot)"
        }
        var grid = [[Character]](repeating: [Character](repeating: " ", count: width), count: height)
        var isFront = [[Bool]](repeating: [Bool](repeating: false, count: width), count: height)
        for p in points where ErrorBitsAxes.plottable(bits: p.bits, error: p.error) {
            let (cx, cy) = axes.cell(bits: p.bits, error: p.error)
            if p.front || grid[cy][cx] == " " {
                grid[cy][cx] = p.front ? "●" : "·"
                isFront[cy][cx] = p.front
            }
        }
        let label = ErrorBitsAxes.labelWidth
        var lines: [String] = []
        for (r, row) in grid.enumerated() {
            var text = ""
            for (c, ch) in row.enumerated() {
                text += colour && isFront[r][c] ? "\u{1B}[1;32m\(ch)\u{1B}[0m" : String(ch)
            }
            lines.append(axes.tick(row: r).padding(toLength: label, withPad: " ", startingAt: 0) + "│" + text)
        }
        lines.append(String(repeating: " ", count: label) + "└" + String(repeating: "─", count: width))
        lines.append(String(repeating: " ", count: label + 1) + axes.bitLine)
        lines.append(String(repeating: " ", count: label + 1) + ErrorBitsAxes.caption + "   ● Pareto front  · other")
        return lines.joined(separator: "\n")
    }
}
