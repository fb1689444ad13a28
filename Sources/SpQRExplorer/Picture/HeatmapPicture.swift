// The heatmap as a picture. A region of rows × cols weights becomes min(rows, 4096) × min(cols, 4096)
// pixels — one per weight when it fits, else pixel k of n covers weights [k·count/n, (k+1)·count/n) —
// pooled as on screen (HeatmapPooling.swift) and coloured with the screen's 256-colour ramps on the
// scale fitted the same way (HeatmapScale.swift: the 1st–99th percentile of the pixels shown, or of the
// whole layer's pixels at the same density). Small maps are enlarged by a whole factor (nearest
// neighbour) so they stay visible. A title above names the layer, the mode and the region; a legend
// below gives the ramp with its range, scale, pooling and range in use.

import SpQRCore

/// A heatmap drawn as an RGB picture.
struct HeatmapPicture {
    /// What to draw.
    struct Request: Sendable {
        var maps: HeatmapMaps
        var layer: String
        var mode: HeatmapMode
        var pooling: Pooling
        var rows: Range<Int>
        var cols: Range<Int>
        var wholeLayerRange: Bool
    }

    static let maxSide = 4096
    static let margin = 12
    static let textScale = 2

    let image: RGBImage
    /// The heatmap's top-left pixel in the picture, and the picture pixels per heatmap pixel.
    let origin: (x: Int, y: Int)
    let enlargement: Int
    /// The matrix rows and columns under each heatmap pixel, and their pooled values and scale.
    let rowRanges: [Range<Int>]
    let colRanges: [Range<Int>]
    let view: PooledView

    /// `n` consecutive parts of `r` (n ≤ r.count), as even as whole numbers allow.
    static func split(_ r: Range<Int>, _ n: Int) -> [Range<Int>] {
        (0..<n).map { k in (r.lowerBound + k * r.count / n)..<(r.lowerBound + (k + 1) * r.count / n) }
    }

    /// The pooled values of `ranges` and the scale fitted to `scaleGrid`'s values (or to their own).
    static func pooled(_ q: Request, _ rows: [Range<Int>], _ cols: [Range<Int>]) -> PooledView {
        let grid = PooledGrid(q.maps, q.mode, rowRanges: rows, colRanges: cols)
        let values = grid.values(q.pooling)
        let signed = Pooling.signed(q.mode, q.pooling)
        let binary = Pooling.binary(q.mode, q.pooling)
        var fitted = values
        let whole = 0..<q.maps.rows
        let wholeCols = 0..<q.maps.cols
        if q.wholeLayerRange && (q.rows != whole || q.cols != wholeCols) {
            // The whole layer at the same weights per pixel, capped like the picture.
            let nr = min(maxSide, max(1, q.maps.rows * rows.count / max(1, q.rows.count)))
            let nc = min(maxSide, max(1, q.maps.cols * cols.count / max(1, q.cols.count)))
            fitted = PooledGrid(q.maps, q.mode, rowRanges: split(whole, nr), colRanges: split(wholeCols, nc))
                .values(q.pooling)
        }
        return PooledView(
            width: cols.count, height: rows.count, values: values,
            scale: HeatmapScale.fit(fitted, signed: signed, binary: binary))
    }

    /// The colour of position `t` on the mode's ramp (the screen's 256-colour ramp).
    static func colour(_ t: Float, signed: Bool) -> RGB {
        if case .index(let i) = ColorRamp.color(t, colors: 256, signed: signed) { return RGB.xterm(i) }
        return .black
    }

    init(_ q: Request) {
        let rowRanges = Self.split(q.rows, min(q.rows.count, Self.maxSide))
        let colRanges = Self.split(q.cols, min(q.cols.count, Self.maxSide))
        let view = Self.pooled(q, rowRanges, colRanges)
        let gw = colRanges.count
        let gh = rowRanges.count
        let enlargement = max(1, min(8, 512 / max(gw, gh, 1)))
        let m = Self.margin
        let s = Self.textScale
        let line = (BitmapFont.height + 3) * s
        let order = q.maps.shownColumns == nil ? "" : " (GPTQ order)"
        let title = "\(q.layer)  [\(q.maps.rows)×\(q.maps.cols)]"
        let subtitle =
            "[\(q.mode.rawValue)] \(q.mode.title) · rows \(q.rows.lowerBound)–\(q.rows.upperBound - 1) · cols\(order) \(q.cols.lowerBound)–\(q.cols.upperBound - 1)"
        let (lo, hi) = view.scale.endLabels
        let note = view.scale.describe(pooling: q.pooling, wholeLayer: q.wholeLayerRange)
        let bar = 256
        let legendWidth = RGBImage.textWidth(lo + " ", scale: s) + bar + RGBImage.textWidth(" " + hi, scale: s)
        let width =
            2 * m
            + [
                gw * enlargement, legendWidth, RGBImage.textWidth(title, scale: s),
                RGBImage.textWidth(subtitle, scale: s),
                RGBImage.textWidth(note, scale: s),
            ].max()!
        let top = m + 2 * line
        let height = top + gh * enlargement + m + 2 * line + m
        var image = RGBImage(width: width, height: height)
        image.text(title, x: m, y: m, scale: s)
        image.text(subtitle, x: m, y: m + line, scale: s, .grey)
        let signed = Pooling.signed(q.mode, q.pooling)
        for py in 0..<gh {
            for px in 0..<gw {
                let c = Self.colour(view.scale.position(view.value(px, py)), signed: signed)
                image.fill(
                    x: m + px * enlargement, y: top + py * enlargement, width: enlargement, height: enlargement, c)
            }
        }
        var y = top + gh * enlargement + m
        var x = image.text(lo + " ", x: m, y: y, scale: s)
        for i in 0..<bar {
            image.fill(
                x: x + i, y: y - s, width: 1, height: (BitmapFont.height + 2) * s,
                Self.colour((Float(i) + 0.5) / Float(bar), signed: signed))
        }
        x += bar
        image.text(" " + hi, x: x, y: y, scale: s)
        y += line
        image.text(note, x: m, y: y, scale: s, .grey)
        self.image = image
        origin = (m, top)
        self.enlargement = enlargement
        self.rowRanges = rowRanges
        self.colRanges = colRanges
        self.view = view
    }
}
