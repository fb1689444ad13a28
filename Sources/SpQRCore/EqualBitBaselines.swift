// Baselines at equal bits: the best round-to-nearest and the best GPTQ-without-outliers configuration whose
// reference average bits do not exceed those of the SpQR run, so that SpQR is compared at its own bit cost
// and not at the (cheaper) same settings without outliers.
//
//     budget      b = avg_bits of the SpQR run (BitCost.referenceAverageBits, outliers included)
//     candidates  every grid point c with BitCost.referenceAverageBits(c, 0) ≤ b
//     best        argmin over the candidates of the relative proxy error tr(ΔW H ΔWᵀ) / tr(W H Wᵀ);
//                 ties go to fewer bits, then to the earlier grid point
//
// The grid (`EqualBitSearch.grid`) varies the settings that set the bit cost:
//     wbits           the explorer's steps of `Setting.wbits` (2…8) that fit the budget
//     groupsize       16, 32, 64, 128, none (one group per row)
//     qq_scale_bits = qq_zero_bits   3, 4, none (16-bit statistics)
//     qq_groupsize    16, 64 (only 64 with 16-bit statistics: without a second level it changes the bit
//                     count and not the weights, and 64 counts fewer bits)
// Every other setting (perchannel, sym, qq_zero_sym, round_zero, permutation_order, percdamp, blocksize) is
// the SpQR run's, outliers are off, and every candidate reuses the layer's preparation (one factorisation).
// Each candidate costs one round-to-nearest pass or one GPTQ run on the same rows as the SpQR run.

/// One equal-bit baseline: the chosen settings and their figures.
public struct EqualBitBaseline: Sendable, Equatable {
    /// The settings of the chosen grid point (outliers off).
    public var settings: SpQRConfig
    public var figures: BaselineFigures
}

/// The best round-to-nearest and GPTQ-without-outliers configurations within the SpQR run's bits; nil
/// where no grid point fits the budget.
public struct EqualBitBaselines: Sendable, Equatable {
    /// The bit budget: the SpQR run's reference average bits.
    public var budget: Double
    public var rtn: EqualBitBaseline?
    public var gptq: EqualBitBaseline?
    /// Grid points within the budget (each evaluated once per method).
    public var candidates: Int
}

/// The equal-bit search.
public enum EqualBitSearch {
    /// Group sizes of the grid (nil: one group per row).
    public static let groupsizes: [Int?] = [16, 32, 64, 128, nil]
    /// Second-level bits of the grid, used for both qq_scale_bits and qq_zero_bits (nil: 16-bit statistics).
    public static let secondLevelBits: [Int?] = [3, 4, nil]
    /// Second-level group sizes of the grid.
    public static let qqGroupsizes: [Int] = [16, 64]

    /// The settings the grid varies, in the order summaries list them.
    public static let searchedSettings: [Setting] = [.wbits, .groupsize, .qqScaleBits, .qqZeroBits, .qqGroupsize]

    /// The searched settings of `config` as "wbits 3 · groupsize 64 · qq_scale_bits 3 · …".
    public static func summary(_ config: SpQRConfig) -> String {
        Setting.summary(searchedSettings, of: config)
    }

    /// Every grid point around `base` (its other settings kept, outliers off), in search order.
    public static func grid(around base: SpQRConfig) -> [SpQRConfig] {
        var points: [SpQRConfig] = []
        let wbits = Setting.wbits.steps.compactMap { if case .integer(let b) = $0 { b } else { nil } }
        for w in wbits {
            for g in groupsizes {
                for qq in secondLevelBits {
                    for g2 in qqGroupsizes where qq != nil || g2 == qqGroupsizes.last {
                        var c = SpQR.withoutOutliers(base)
                        c.wbits = w
                        c.groupsize = g
                        c.qqScaleBits = qq
                        c.qqZeroBits = qq
                        c.qqGroupsize = g2
                        points.append(c)
                    }
                }
            }
        }
        return points
    }

    /// The grid points whose reference average bits (no outliers) do not exceed `budget`.
    public static func candidates(around base: SpQRConfig, budget: Double) -> [SpQRConfig] {
        grid(around: base).filter {
            BitCost.referenceAverageBits($0, outlierShare: 0) <= budget && (try? $0.validate()) != nil
        }
    }

    /// Searches the grid for the best round-to-nearest and GPTQ configurations within the bits of `spqr`,
    /// on its rows. `progress` receives the share of the candidate runs done.
    public static func search(
        _ layer: PreparedLayer, spqr: SpQRResult, cancel: CancellationToken? = nil,
        progress: ProgressHandler? = nil
    ) throws -> EqualBitBaselines {
        let budget = spqr.figures.avgBits
        let points = candidates(around: spqr.config, budget: budget)
        let rows = spqr.isPreview ? spqr.rowIndices : nil
        let total = Double(max(2 * points.count, 1))
        var done = 0
        func best(_ figures: (SpQRConfig) throws -> BaselineFigures) throws -> EqualBitBaseline? {
            var chosen: EqualBitBaseline?
            for c in points {
                try cancel?.check()
                let f = try figures(c)
                done += 1
                progress?(Double(done) / total)
                if let b = chosen, !isBetter(f, than: b.figures) { continue }
                chosen = EqualBitBaseline(settings: c, figures: f)
            }
            return chosen
        }
        let rtn = try best { try SpQR.roundToNearestFigures(layer, config: $0, rows: rows, cancel: cancel) }
        let gptq = try best { try SpQR.gptqWithoutOutliersFigures(layer, config: $0, rows: rows, cancel: cancel) }
        return EqualBitBaselines(budget: budget, rtn: rtn, gptq: gptq, candidates: points.count)
    }

    /// Lower relative proxy error wins; at equal error, fewer average bits.
    static func isBetter(_ a: BaselineFigures, than b: BaselineFigures) -> Bool {
        a.relProxyError != b.relProxyError ? a.relProxyError < b.relProxyError : a.avgBits < b.avgBits
    }
}
