// The sweep's plot as a picture: relative proxy error on a log scale (up) against average bits (right),
// the Pareto front (Pareto.swift) drawn as larger joined points, every other combination as a small grey
// one. The axes span the points with a positive, finite error: x from the fewest to the most bits,
// y = log10(error) from the smallest error to the largest: the axes of the character plot (ErrorBitsAxes,
// Plot/ErrorBitsPlot.swift) with one cell per pixel.

import Foundation

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
        // The axes of the character plot, with one cell per pixel inside the frame.
        guard
            let axes = ErrorBitsAxes(
                points: points.map { ($0.bits, $0.error) }, width: plotWidth - 2 * pad, height: plotHeight - 2 * pad)
        else {
            image.text("no point with a positive, finite error", x: x0 + pad, y: y0 + pad, scale: s)
            return image
        }
        /// Pixel of a point, inside the frame by `pad`.
        func pixel(_ p: (bits: Double, error: Double, front: Bool)) -> (x: Int, y: Int) {
            let c = axes.cell(bits: p.bits, error: p.error)
            return (x0 + pad + c.x, y0 + pad + c.y)
        }
        // Ticks: the ends and the middle of each axis.
        for f in [0.0, 0.5, 1.0] {
            let logE = axes.logErrorMin + f * (axes.logErrorMax - axes.logErrorMin)
            let py = y1 - pad - Int((f * Double(axes.height - 1)).rounded())
            image.line(x0 - 4, py, x0, py, .grey)
            image.text(String(format: "%.2e", pow(10, logE)), x: 12, y: py - BitmapFont.height * s / 2, scale: s)
            let b = axes.bitsMin + f * (axes.bitsMax - axes.bitsMin)
            let px = x0 + pad + Int((f * Double(axes.width - 1)).rounded())
            image.line(px, y1, px, y1 + 4, .grey)
            let label = String(format: "%.3f", b)
            image.text(label, x: px - RGBImage.textWidth(label, scale: s) / 2, y: y1 + pad, scale: s)
        }
        let usable = points.filter { ErrorBitsAxes.plottable(bits: $0.bits, error: $0.error) }
        let frontColour = RGB.xterm(ColorRamp.diverging256.last!)
        for p in usable where !p.front {
            let q = pixel(p)
            image.fill(x: q.x - 2, y: q.y - 2, width: 5, height: 5, .grey)
        }
        let front = usable.filter(\.front).sorted { $0.bits < $1.bits }.map(pixel)
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
