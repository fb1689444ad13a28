// The error–bits trade-off of one layer: every setting of a menu (SettingsMenu, the standard one by default)
// measured as
//
//     SpQR   for the menu's settings with outliers (finite outlier_threshold),
//     GPTQ   for its settings with outliers off (SpQR with outlier_threshold = ∞ is GPTQ without outliers),
//     RTN    round-to-nearest at the same outlier-off settings,
//
// each giving a point (reference average bits, relative proxy error tr(ΔW H ΔWᵀ) / tr(W H Wᵀ)) on the full
// layer. The Pareto front of these points (Pareto.swift) is the best error reachable at each bit cost. The
// SpQR and GPTQ points go through LayerMeasurement.measureEach, so each preparation key (permutation order,
// percdamp) is factorised once; each RTN point reuses the preparation of its GPTQ point.

/// How a trade-off point was quantized.
public enum TradeoffMethod: String, Sendable, CaseIterable {
    case spqr = "SpQR"
    case gptq = "GPTQ"
    case rtn = "RTN"
}

/// One point of the trade-off grid to measure: a method at a configuration.
public struct TradeoffCandidate: Sendable, Equatable {
    public var method: TradeoffMethod
    public var config: SpQRConfig

    public init(method: TradeoffMethod, config: SpQRConfig) {
        self.method = method
        self.config = config
    }
}

/// A measured trade-off point: average bits and relative proxy error of one candidate on the full layer.
public struct TradeoffPoint: Sendable, Equatable {
    public var candidate: TradeoffCandidate
    /// Reference average bits per weight (BitCost.referenceAverageBits, outliers included).
    public var avgBits: Double
    /// Relative proxy error tr(ΔW H ΔWᵀ) / tr(W H Wᵀ).
    public var relProxyError: Double

    public init(candidate: TradeoffCandidate, avgBits: Double, relProxyError: Double) {
        self.candidate = candidate
        self.avgBits = avgBits
        self.relProxyError = relProxyError
    }
}

/// The trade-off grid of a layer and its measurement.
public enum TradeoffGrid {
    /// The candidates of `menu` around `base`, in menu order: a SpQR candidate for a setting with outliers,
    /// a GPTQ and then an RTN candidate for a setting with outliers off. Throws when a menu point is not a
    /// valid configuration.
    public static func candidates(around base: SpQRConfig, menu: SettingsMenu = .standard) throws
        -> [TradeoffCandidate]
    {
        try menu.configs(around: base).flatMap { c -> [TradeoffCandidate] in
            c.outlierThreshold.isFinite
                ? [TradeoffCandidate(method: .spqr, config: c)]
                : [TradeoffCandidate(method: .gptq, config: c), TradeoffCandidate(method: .rtn, config: c)]
        }
    }

    /// Measures the candidates on every row of `layer`, handing each point to `each` with its index in
    /// `candidates` as soon as it is ready. Candidates sharing a preparation key share one factorisation.
    public static func measure(
        _ candidates: [TradeoffCandidate], on layer: LayerMeasurement, cancel: CancellationToken? = nil,
        each: (_ index: Int, TradeoffPoint) throws -> Void
    ) throws {
        // SpQR and GPTQ candidates are SpQR runs; an RTN candidate follows the run of its configuration when
        // it has one, else it runs on its own preparation.
        let runs = candidates.indices.filter { candidates[$0].method != .rtn }
        var rtnOf: [Int: [Int]] = [:]
        var alone: [Int] = []
        for i in candidates.indices where candidates[i].method == .rtn {
            if let r = runs.first(where: { candidates[$0].config == candidates[i].config }) {
                rtnOf[r, default: []].append(i)
            } else {
                alone.append(i)
            }
        }
        func roundToNearest(_ i: Int) throws {
            let c = candidates[i].config
            let f = try SpQR.roundToNearestFigures(layer.prepare(for: c, cancel: cancel), config: c, cancel: cancel)
            try each(i, TradeoffPoint(candidate: candidates[i], avgBits: f.avgBits, relProxyError: f.relProxyError))
        }
        try layer.measureEach(runs.map { candidates[$0].config }, cancel: cancel) { k, _, m in
            let i = runs[k]
            let f = m.result.figures
            try each(i, TradeoffPoint(candidate: candidates[i], avgBits: f.avgBits, relProxyError: f.relProxyError))
            for j in rtnOf[i] ?? [] { try roundToNearest(j) }
        }
        for i in alone { try roundToNearest(i) }
    }
}
