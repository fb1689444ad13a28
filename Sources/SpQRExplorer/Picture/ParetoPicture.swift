// The sweep's plot as a picture: relative proxy error on a log scale (up) against average bits (right),
// the Pareto front (Pareto.swift) drawn as larger joined points, every other combination as a small grey
// one. The axes span the points with a positive, finite error: x from the fewest to the most bits,
// y = log10(error) from the smallest error to the largest; the character plot on stderr uses the same
// axes (ErrorBitsAxes).

import Foundation

/// Where (bits, error) points sit in a plot: x ∈ [0, 1] by bits, y ∈ [0, 1] by log10(error) (1 = largest).
struct ErrorBitsAxes {
    let bits: ClosedRange<Double>
    let logError: ClosedRange<Double>

    /// The axes of the points with a positive, finite error (nil when there is none).
    init?(_ points: [(bits: Double, error: Double, front: Bool)]) {
        let usable = Self.usable(points)
        guard !usable.isEmpty else { return nil }
        bits = usable.map(\.bits).min()!...usable.map(\.bits).max()!
        logError = log10(usable.map(\.error).min()!)...log10(usable.map(\.error).max()!)
    }

    static func usable(_ points: [(bits: Double, error: Double, front: Bool)]) -> [(
        bits: Double, error: Double, front: Bool
    )] {
        points.filter { $0.error > 0 && $0.error.isFinite && $0.bits.isFinite }
    }

    /// The point's place: (0, 0) the fewest bits and smallest error, (1, 1) the most and the largest; ½ on
    /// an axis without extent.
    func position(bits b: Double, error e: Double) -> (x: Double, y: Double) {
        let x = bits.upperBound > bits.lowerBound ? (b - bits.lowerBound) / (bits.upperBound - bits.lowerBound) : 0.5
        let l = logError
        let y = l.upperBound > l.lowerBound ? (log10(e) - l.lowerBound) / (l.upperBound - l.lowerBound) : 0.5
        return (x, y)
    }
}

enum ParetoPicture {
    static let plotWidth = 720
    static let plotHeight = 400

    /// The plot of `points` with `title` above it.
    static func render(_ points: [(bits: Double, error: Double, front: Bool)], title: String) -> RGBImage {
        let s = HeatmapPicture.textScale
        let line = (BitmapFont.height + 3) * s
        let left = 12 + RGBImage.textWidth("0.00e-00 ", scale: s)
        let top = 12 + 2 * line
        let pad = 12
        let width = max(left + plotWidth + 24, 24 + RGBImage.textWidth(title, scale: s))
        let height = top + plotHeight + pad + 3 * line + 12
        var image = RGBImage(width: width, height: height)
        image.text(title, x: 12, y: 12, scale: s)
        image.text("rel proxy error ↑ (log)  vs  avg bits →", x: 12, y: 12 + line, scale: s, .grey)
        // Frame.
        let x0 = left
        let y0 = top
        let x1 = left + plotWidth
        let y1 = top + plotHeight
        for (a, b, c, d) in [(x0, y0, x1, y0), (x0, y1, x1, y1), (x0, y0, x0, y1), (x1, y0, x1, y1)] {
            image.line(a, b, c, d, .grey)
        }
        guard let axes = ErrorBitsAxes(points) else {
            image.text("no point with a positive, finite error", x: x0 + pad, y: y0 + pad, scale: s)
            return image
        }
        /// Pixel of a plot position, inside the frame by `pad`.
        func pixel(_ p: (x: Double, y: Double)) -> (x: Int, y: Int) {
            (
                x0 + pad + Int((p.x * Double(plotWidth - 2 * pad)).rounded()),
                y1 - pad - Int((p.y * Double(plotHeight - 2 * pad)).rounded())
            )
        }
        // Ticks: the ends and the middle of each axis.
        for f in [0.0, 0.5, 1.0] {
            let logE = axes.logError.lowerBound + f * (axes.logError.upperBound - axes.logError.lowerBound)
            let py = pixel((0, f)).y
            image.line(x0 - 4, py, x0, py, .grey)
            image.text(String(format: "%.2e", pow(10, logE)), x: 12, y: py - BitmapFont.height * s / 2, scale: s)
            let b = axes.bits.lowerBound + f * (axes.bits.upperBound - axes.bits.lowerBound)
            let px = pixel((f, 0)).x
            image.line(px, y1, px, y1 + 4, .grey)
            let label = String(format: "%.3f", b)
            image.text(label, x: px - RGBImage.textWidth(label, scale: s) / 2, y: y1 + pad, scale: s)
        }
        let usable = ErrorBitsAxes.usable(points)
        let frontColour = RGB.xterm(ColorRamp.diverging256.last!)
        for p in usable where !p.front {
            let q = pixel(axes.position(bits: p.bits, error: p.error))
            image.fill(x: q.x - 2, y: q.y - 2, width: 5, height: 5, .grey)
        }
        let front = usable.filter(\.front).sorted { $0.bits < $1.bits }.map { pixel(axes.position(bits: $0.bits, error: $0.error)) }
        for (a, b) in zip(front, front.dropFirst()) { image.line(a.x, a.y, b.x, b.y, frontColour) }
        for q in front { image.fill(x: q.x - 4, y: q.y - 4, width: 9, height: 9, frontColour) }
        let ly = y1 + pad + line
        var lx = image.text("avg bits", x: x0, y: ly, scale: s, .grey) + 24
        image.fill(x: lx, y: ly, width: 9, height: 9, frontColour)
        lx = image.text(" Pareto front (\(front.count))", x: lx + 10, y: ly, scale: s) + 16
        image.fill(x: lx, y: ly + 2, width: 5, height: 5, .grey)
        image.text(" other (\(usable.count - front.count))", x: lx + 6, y: ly, scale: s)
        return image
    }
}
