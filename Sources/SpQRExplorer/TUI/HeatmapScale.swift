// The colour scale of a heatmap, fitted to the pooled values it shows: the range is the 1st–99th
// percentile (nearest rank) of the values, so a few extreme cells do not squeeze the rest into a few
// shades. Positive maps whose range spans a decade or more use a log scale, t = log(v/lo) / log(hi/lo);
// signed maps use a symmetric diverging scale, t = ½ + ½·v/hi with hi the 99th percentile of |v|;
// yes/no maps use t = v. Positions are clamped to [0, 1]. The row and column marginal bars use a log
// scale from the 5th percentile of their values to the largest, so their distribution shows.

import Foundation

/// How pooled values map to positions on a colour ramp.
struct HeatmapScale: Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        case linear, log, diverging, binary
    }

    var kind: Kind
    var lo: Float
    var hi: Float

    /// The value at percentile `p` ∈ [0, 1] of `sorted` (nearest rank); nil when empty.
    static func percentile(_ sorted: [Float], _ p: Double) -> Float? {
        guard !sorted.isEmpty else { return nil }
        let i = Int((p * Double(sorted.count - 1)).rounded())
        return sorted[min(sorted.count - 1, max(0, i))]
    }

    /// The scale for `values`: diverging when `signed`, yes/no when `binary`, else linear or log over the
    /// 1st–99th percentile of the positive values.
    static func fit(_ values: [Float], signed: Bool, binary: Bool) -> HeatmapScale {
        if binary { return HeatmapScale(kind: .binary, lo: 0, hi: 1) }
        if signed {
            let mags = values.lazy.filter(\.isFinite).map { abs($0) }.sorted()
            return HeatmapScale(kind: .diverging, lo: 0, hi: percentile(mags, 0.99) ?? 0)
        }
        let positive = values.filter { $0 > 0 && $0.isFinite }.sorted()
        guard let lo = percentile(positive, 0.01), let hi = percentile(positive, 0.99) else {
            return HeatmapScale(kind: .linear, lo: 0, hi: 0)
        }
        return HeatmapScale(kind: hi >= 10 * lo ? .log : .linear, lo: lo, hi: hi)
    }

    /// The legend's words for the two ends of the ramp.
    var endLabels: (lo: String, hi: String) {
        switch kind {
        case .diverging: return ("−" + Num.short(Double(hi)), "+" + Num.short(Double(hi)))
        case .binary: return ("none", "outlier")
        case .log, .linear: return (Num.short(Double(lo)), Num.short(Double(hi)))
        }
    }

    /// The legend's note: the scale, the pooling and the range in use ("log·mean·visible p1–p99").
    func describe(pooling: Pooling, wholeLayer: Bool) -> String {
        let name: String
        switch kind {
        case .log: name = "log"
        case .linear: name = "linear"
        case .diverging: name = "diverging"
        case .binary: name = "yes/no"
        }
        let range = wholeLayer ? "whole layer" : (kind == .diverging ? "visible p99" : "visible p1–p99")
        return "\(name)·\(pooling.rawValue)\(kind == .binary ? "" : "·" + range)"
    }

    /// Position of `v` on the ramp, in [0, 1].
    func position(_ v: Float) -> Float {
        let t: Float
        switch kind {
        case .binary: t = v > 0 ? 1 : 0
        case .diverging: t = hi > 0 ? 0.5 + 0.5 * v / hi : 0.5
        case .log:
            guard v > 0 else { return 0 }
            t = log(v / lo) / log(hi / lo)
        case .linear:
            if v <= 0 { return 0 }
            t = hi > lo ? (v - lo) / (hi - lo) : (v >= hi ? 1 : 0)
        }
        return t.isFinite ? min(1, max(0, t)) : 0
    }
}

/// Bar heights for the row and column marginals: the same fit for the bars' values (a log scale from the
/// 5th percentile of the positive values to the largest when they span a decade or more, else linear from
/// zero), so that their distribution shows rather than a wall of full bars. Positive values get at least
/// the lowest bar.
enum MarginalBars {
    /// The range of the bars: the 5th percentile of the positive values (nearest rank) and the largest,
    /// and whether they span a decade (nil: no positive value).
    static func fit(_ values: [Double]) -> (lo: Double, hi: Double, log: Bool)? {
        let positive = values.filter { $0 > 0 && $0.isFinite }.sorted()
        guard let hi = positive.last else { return nil }
        let lo = positive[Int((0.05 * Double(positive.count - 1)).rounded())]
        return (lo, hi, hi >= 10 * lo)
    }

    static func heights(_ values: [Double]) -> [Double] {
        guard let f = fit(values) else { return values.map { _ in 0 } }
        return values.map { v in
            guard v > 0, v.isFinite else { return 0 }
            let t = f.log ? log(v / f.lo) / log(f.hi / f.lo) : v / f.hi
            return min(1, max(0.01, t))
        }
    }

    /// Whether `heights` uses a log scale for `values`.
    static func isLog(_ values: [Double]) -> Bool { fit(values)?.log ?? false }
}
