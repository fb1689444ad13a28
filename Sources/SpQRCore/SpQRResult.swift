// What one SpQR run returns: the dequantized weights in the original column order, the outlier mask, the
// group statistics, the per-weight sensitivity and error maps, and the figures computed from them
// (ErrorFigures.swift, BitCost.swift), with the round-to-nearest and GPTQ-without-outliers baselines' figures.

import Foundation

/// Figures of one quantized layer (or of the rows of a preview).
public struct LayerFigures: Sendable, Equatable, Codable {
    /// Number of outliers and their share of all weights.
    public var nOutliers: Int
    public var outlierFraction: Double
    /// Reference average bits, unrounded, with and without the outlier term.
    public var avgBits: Double
    public var avgBitsWithoutOutliers: Double
    /// Exact storage in bits, by part.
    public var storage: BitCost.Storage
    /// ‖W − Q‖_F / ‖W‖_F.
    public var relWeightError: Double
    /// tr(ΔW H ΔWᵀ) / tr(W H Wᵀ) with the undamped H.
    public var relProxyError: Double
    /// The layer's sensitivity concentration: the share of Σ sensitivity (e² before any outlier is kept)
    /// held by the most sensitive 1% of weights (ErrorFigures.swift).
    public var sensitivityConcentration: Double
    /// The run's error concentration: the share of its final error (Σ error contribution) held by its
    /// top 1% of weights.
    public var errorConcentration: Double
    /// Absolute outlier threshold τ (∞ when off).
    public var tau: Double
    /// Number of input columns with a zero Hessian diagonal.
    public var deadColumns: Int
    /// Number of weights the figures cover.
    public var parameters: Int

    /// Exact storage bits per weight.
    public var storageBitsPerWeight: Double { Double(storage.total) / Double(max(parameters, 1)) }

    /// Size of the source at `sourceBits` per weight over the exact storage.
    public func compressionRatio(sourceBits: Int) -> Double {
        Double(sourceBits * parameters) / Double(max(storage.total, 1))
    }
}

/// Figures of a baseline at the same settings.
public struct BaselineFigures: Sendable, Equatable, Codable {
    public var avgBits: Double
    public var storageBits: Int
    public var relWeightError: Double
    public var relProxyError: Double
    /// The share of the baseline's final error held by its top 1% of weights.
    public var errorConcentration: Double
}

/// The round-to-nearest and GPTQ-without-outliers baselines.
public struct Baselines: Sendable, Equatable, Codable {
    public var rtn: BaselineFigures
    public var gptq: BaselineFigures
}

/// Everything one SpQR run returns; per-weight maps are [rows, in] row-major in original column order.
public struct SpQRResult: Sendable {
    public let config: SpQRConfig
    /// The output rows covered, in order (all rows unless this is a preview).
    public let rowIndices: [Int]
    /// Output rows of the whole layer.
    public let outFeatures: Int
    /// Input columns.
    public let inFeatures: Int
    /// Dequantized weights, outliers at their kept values.
    public let dequantized: Matrix
    /// 1 where the weight is kept as an outlier.
    public let outlierMask: [UInt8]
    /// Processing order (W[:, permutation] is the order GPTQ saw).
    public let permutation: [Int]
    /// Group statistics, in processing order.
    public let statistics: GroupStatistics
    /// Per-weight e² before the outlier decision.
    public let sensitivity: [Float]
    /// Per-weight propagated e² (0 at outliers); sums to the damped proxy loss.
    public let errorContribution: [Float]
    /// Σ e², the damped proxy loss tr(ΔWp Hd ΔWpᵀ).
    public let proxyLoss: Double
    public let figures: LayerFigures
    /// Where the time went.
    public let timings: RunTimings
    /// Whether only a subset of rows was quantized.
    public var isPreview: Bool { rowIndices.count < outFeatures }
}

/// Wall-clock seconds of the phases of one run.
public struct RunTimings: Sendable, Equatable, Codable {
    /// Gathering W[:, perm] and the GPTQ loop, including the group fits and outlier decisions.
    public var gptqLoop: Double
    /// CPU seconds (summed over threads) spent fitting groups, including the leave-one-out outlier pass.
    public var outlierPass: Double
    /// Un-permuting the maps and computing the figures.
    public var figures: Double
    /// tr(W H Wᵀ) per row: paid once per layer, then cached.
    public var proxyDenominator: Double
}
