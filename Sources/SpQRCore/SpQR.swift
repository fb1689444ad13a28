// One SpQR run on one linear layer, as the reference engine computes it, with the figures the explorer
// shows and the baselines that isolate each ingredient.
//
//   prepare:  perm, Hp, dead columns, damping, U (Uᵀ U = Hd⁻¹), Wp = W[:, perm] with dead columns zeroed,
//             the outlier scale mean_j Var_i(Wp[:, j]) / d_j²               (per layer, order and percdamp)
//   run:      τ = outlier_threshold · outlier scale; GPTQ with outliers (GPTQ.swift); figures
//   baselines: round-to-nearest and GPTQ without outliers at the same settings
//
// Everything a run returns is in the original column order. Source: reference `SPQRUtil.quantize`.

import Dispatch
import Foundation

/// A layer ready to quantize: the factorisation and everything else that depends only on W, H, the
/// permutation order and percdamp, so that changes of bits, groups or threshold skip it.
public final class PreparedLayer: Sendable {
    /// The layer's name, used in messages.
    public let name: String
    /// W [out, in] as given.
    public let weights: Matrix
    /// H [in, in] as given (undamped).
    public let hessian: Matrix
    public let permutationOrder: PermutationOrder
    public let percdamp: Double
    public let factor: HessianFactor
    /// mean_j Var_i(Wp[i, j]) / d_j²; τ = outlier_threshold × this.
    public let outlierScale: Double
    /// Original indices of the input columns whose Hessian diagonal is zero.
    public let deadColumns: [Int]
    /// tr(W H Wᵀ), the denominator of the relative proxy error over the whole layer.
    public let weightQuadratic: Double
    /// Seconds spent on the permutation, gathering Wp and the outlier scale.
    public let preparationSeconds: Double
    /// Seconds spent factorising the damped Hessian.
    public let factorisationSeconds: Double
    /// Seconds spent on tr(W H Wᵀ) (0 when it was passed in).
    public let denominatorSeconds: Double

    /// Validates the inputs, factorises the damped, permuted Hessian and computes tr(W H Wᵀ) (unless a
    /// previous preparation of the same W and H passes it in). Both use OpenBLAS's own threads.
    public init(name: String, weights: Matrix, hessian: Matrix, permutationOrder: PermutationOrder, percdamp: Double,
                weightQuadratic known: Double? = nil) throws {
        try Hessian.validate(hessian, for: weights, layer: name)
        guard percdamp.isFinite, percdamp >= 0 else {
            throw SpQRError(.invalidSetting, "percdamp must be a non-negative number, got \(percdamp)")
        }
        self.name = name
        self.weights = weights
        self.hessian = hessian
        self.permutationOrder = permutationOrder
        self.percdamp = percdamp
        var clock = PhaseClock()
        let perm = Permutation.order(permutationOrder, weights: weights, hessian: hessian)
        var preparation = clock.lap()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let factor = try BLAS.withThreads(cores) {
            try HessianFactor(hessian: hessian, perm: perm, percdamp: percdamp, layer: name)
        }
        self.factorisationSeconds = clock.lap()
        self.weightQuadratic = known ?? BLAS.withThreads(cores) { ErrorFigures.quadraticTrace(weights, hessian: hessian) }
        self.denominatorSeconds = clock.lap()
        self.factor = factor
        let n = weights.cols
        self.deadColumns = (0..<n).filter { factor.dead[$0] }.map { perm[$0] }.sorted()
        self.outlierScale = OutlierThreshold.scale(weights: weights, factor: factor)
        preparation += clock.lap()
        self.preparationSeconds = preparation
    }

    /// Convenience: prepares with the order and damping of `config`.
    public convenience init(name: String, weights: Matrix, hessian: Matrix, config: SpQRConfig,
                            weightQuadratic: Double? = nil) throws {
        try self.init(name: name, weights: weights, hessian: hessian,
                      permutationOrder: config.permutationOrder, percdamp: config.percdamp, weightQuadratic: weightQuadratic)
    }

    /// Whether a run with `config` can reuse this preparation.
    public func matches(_ config: SpQRConfig) -> Bool {
        config.permutationOrder == permutationOrder && config.percdamp == percdamp
    }

    /// W[rows, perm] with dead columns zeroed: the matrix GPTQ works on, gathered afresh for each run so
    /// that a prepared layer holds no second copy of W.
    func permutedWeights(rows: [Int]?) -> [Float] {
        let n = weights.cols, m = rows?.count ?? weights.rows
        var out: [Float] = uninitializedArray(m * n)
        let threads = max(1, min(ProcessInfo.processInfo.activeProcessorCount, m))
        weights.values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                factor.perm.withUnsafeBufferPointer { perm in
                    factor.dead.withUnsafeBufferPointer { dead in
                        let S = SharedPointer(UnsafeMutablePointer(mutating: src.baseAddress!)), D = SharedPointer(dst.baseAddress!)
                        let P = SharedPointer(UnsafeMutablePointer(mutating: perm.baseAddress!))
                        let Z = SharedPointer(UnsafeMutablePointer(mutating: dead.baseAddress!))
                        DispatchQueue.concurrentPerform(iterations: threads) { t in
                            for k in (t * m / threads)..<((t + 1) * m / threads) {
                                let s = S.base + (rows?[k] ?? k) * n, d = D.base + k * n
                                for c in 0..<n { d[c] = Z.base[c] ? 0 : s[P.base[c]] }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// tr(W H Wᵀ) over the given rows (all rows: the cached total).
    public func weightQuadratic(rows: [Int]?) -> Double {
        guard let rows else { return weightQuadratic }
        let sub = weights.selectingRows(rows)
        return ErrorFigures.rowQuadraticForms(sub.values, rows: rows.count, hessian: hessian).reduce(0, +)
    }

    /// The absolute outlier threshold τ for `config` (∞ when outliers are off).
    public func tau(for config: SpQRConfig) -> Double {
        config.outliersEnabled ? config.outlierThreshold * outlierScale : .infinity
    }
}

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
    /// Share of Σ sensitivity held by the most sensitive 1% of weights.
    public var errorShareTop1pct: Double
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
    public var errorShareTop1pct: Double
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

/// Measures consecutive phases.
struct PhaseClock {
    private var last = DispatchTime.now().uptimeNanoseconds

    /// Seconds since the previous lap (or the start).
    mutating func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now - last) / 1e9
    }
}

/// The SpQR engine.
public enum SpQR {
    /// Quantizes the layer (or the given rows of it) with `config`.
    /// - Parameters:
    ///   - rows: a subset of output rows for a preview; whole second-level blocks give the same numbers for
    ///     those rows as the full run. nil = every row.
    public static func run(_ layer: PreparedLayer, config: SpQRConfig, rows: [Int]? = nil,
                           cancel: CancellationToken? = nil, progress: ProgressHandler? = nil) throws -> SpQRResult {
        try config.validate()
        guard layer.matches(config) else {
            throw SpQRError(.invalidSetting, "internal: layer \(layer.name) was prepared for another permutation order or percdamp")
        }
        let n = layer.weights.cols
        let rowIndices = rows ?? Array(0..<layer.weights.rows)
        let m = rowIndices.count
        var clock = PhaseClock()
        let wp = layer.permutedWeights(rows: rows)
        let tau = layer.tau(for: config)
        var out = try GPTQ.run(wp: consume wp, rows: m, factor: layer.factor, config: config, tau: Float(tau),
                               cancel: cancel, progress: progress)
        let gptqSeconds = clock.lap()
        let perm = layer.factor.perm
        let original = rows == nil ? layer.weights.values : layer.weights.selectingRows(rowIndices).values
        let numerator = proxyNumerator(loss: out.proxyLoss, original: original, qp: out.q, rows: m, factor: layer.factor)
        let nOutliers = out.outliers.withUnsafeBufferPointer { p in p.reduce(0) { $0 + Int($1) } }
        let topShare = ErrorFigures.topShare(out.sensitivity, fraction: 0.01)
        unpermuteColumnsInPlace(&out.q, rows: m, cols: n, order: perm)
        unpermuteColumnsInPlace(&out.outliers, rows: m, cols: n, order: perm)
        unpermuteColumnsInPlace(&out.sensitivity, rows: m, cols: n, order: perm)
        unpermuteColumnsInPlace(&out.errorContribution, rows: m, cols: n, order: perm)
        let relWeightError = ErrorFigures.relativeWeightError(original: original, quantized: out.q)
        let figuresSeconds = clock.lap()
        let denominator = layer.weightQuadratic(rows: rows)
        let denominatorSeconds = clock.lap()
        let params = m * n
        guard out.proxyLoss.isFinite, numerator.isFinite, denominator.isFinite else {
            let largest = layer.weights.values.reduce(Float(0)) { max($0, abs($1)) }
            throw SpQRError(.nonFinite, "layer \(layer.name): the error figures overflow float32 (largest |w| is \(largest)); "
                + "weights or Hessian entries this large cannot be quantized meaningfully — check the tensor's dtype and scale")
        }
        let share = Double(nOutliers) / Double(max(params, 1))
        let figures = LayerFigures(
            nOutliers: nOutliers, outlierFraction: share,
            avgBits: BitCost.referenceAverageBits(config, outlierShare: share),
            avgBitsWithoutOutliers: BitCost.referenceAverageBits(config, outlierShare: 0),
            storage: BitCost.storage(config, rows: m, cols: n, outliers: nOutliers),
            relWeightError: relWeightError,
            relProxyError: ratio(numerator, denominator),
            errorShareTop1pct: topShare,
            tau: tau, deadColumns: layer.deadColumns.count, parameters: params)
        return SpQRResult(
            config: config, rowIndices: rowIndices, outFeatures: layer.weights.rows, inFeatures: n,
            dequantized: Matrix(rows: m, cols: n, values: out.q), outlierMask: out.outliers,
            permutation: perm, statistics: out.statistics,
            sensitivity: out.sensitivity, errorContribution: out.errorContribution,
            proxyLoss: out.proxyLoss, figures: figures,
            timings: RunTimings(gptqLoop: gptqSeconds, outlierPass: out.groupFitSeconds,
                                figures: figuresSeconds + denominatorSeconds, proxyDenominator: denominatorSeconds))
    }

    /// Round-to-nearest and GPTQ without outliers at the settings of `config`, on the same rows.
    public static func baselines(_ layer: PreparedLayer, config: SpQRConfig, rows: [Int]? = nil,
                                 cancel: CancellationToken? = nil) throws -> Baselines {
        try config.validate()
        let n = layer.weights.cols
        let rowIndices = rows ?? Array(0..<layer.weights.rows)
        let m = rowIndices.count
        let denominator = layer.weightQuadratic(rows: rows)
        let perm = layer.factor.perm
        let d = layer.factor.d

        // Round-to-nearest on the permuted original weights, streamed in chunks of whole second-level
        // blocks (dead columns are not special without error feedback).
        let align = config.qqGroupsize
        let chunkRows = config.perchannel ? align * max(1, (256 + align - 1) / align) : m
        var sensitivity: [Float] = uninitializedArray(m * n)
        var weightNum: Double = 0, weightDen: Double = 0, proxyNum: Double = 0
        var r0 = 0
        while r0 < m {
            try cancel?.check()
            let r1 = min(r0 + chunkRows, m)
            let original = layer.weights.selectingRows(Array(rowIndices[r0..<r1]))
            let wp = original.permutingColumns(perm).values
            let qp = RoundToNearest.quantize(permuted: wp, rows: r1 - r0, cols: n, config: config)
            var delta = wp
            for k in delta.indices {
                delta[k] -= qp[k]
                let e = delta[k] / d[k % n]
                sensitivity[r0 * n + k] = e * e
                weightNum += Double(delta[k]) * Double(delta[k])
                weightDen += Double(wp[k]) * Double(wp[k])
            }
            unpermuteColumnsInPlace(&delta, rows: r1 - r0, cols: n, order: perm)
            proxyNum += ErrorFigures.rowQuadraticForms(delta, rows: r1 - r0, hessian: layer.hessian).reduce(0, +)
            r0 = r1
        }
        let noOutliersBits = BitCost.referenceAverageBits(config, outlierShare: 0)
        var plain = config
        plain.outlierThreshold = .infinity
        let storage = BitCost.storage(plain, rows: m, cols: n, outliers: 0).total
        let rtn = BaselineFigures(
            avgBits: noOutliersBits, storageBits: storage,
            relWeightError: ratio(weightNum, weightDen).squareRoot(),
            relProxyError: ratio(proxyNum, denominator),
            errorShareTop1pct: ErrorFigures.topShare(sensitivity, fraction: 0.01))
        try cancel?.check()

        let g = try run(layer, config: plain, rows: rows, cancel: cancel)
        let gptq = BaselineFigures(
            avgBits: noOutliersBits, storageBits: storage,
            relWeightError: g.figures.relWeightError, relProxyError: g.figures.relProxyError,
            errorShareTop1pct: g.figures.errorShareTop1pct)
        return Baselines(rtn: rtn, gptq: gptq)
    }

    /// Output rows for a preview: `blocks` whole second-level blocks spread evenly over the layer, so the
    /// preview's rows get exactly the statistics of the full run.
    public static func previewRows(outFeatures: Int, config: SpQRConfig, targetRows: Int = 128) -> [Int] {
        let block = (config.qqScaleBits != nil || config.quantizesZeros) ? config.qqGroupsize : 16
        let blockCount = (outFeatures + block - 1) / block
        let wanted = max(1, min(blockCount, targetRows / max(block, 1)))
        guard config.perchannel, wanted < blockCount else { return Array(0..<outFeatures) }
        var rows: [Int] = []
        for k in 0..<wanted {
            let b = k * blockCount / wanted
            rows.append(contentsOf: (b * block)..<min((b + 1) * block, outFeatures))
        }
        return rows
    }

    /// tr(ΔW H ΔWᵀ) from the damped loss Σ e² (see ErrorFigures.swift), with ΔWp = Wp − Qp and Wp the
    /// permuted, dead-zeroed original rows.
    static func proxyNumerator(loss: Double, original: [Float], qp: [Float], rows: Int, factor: HessianFactor) -> Double {
        let n = factor.count
        var live: Double = 0, dead: Double = 0
        original.withUnsafeBufferPointer { w in
            qp.withUnsafeBufferPointer { q in
                for r in 0..<rows {
                    let wr = w.baseAddress! + r * n, qr = q.baseAddress! + r * n
                    for k in 0..<n {
                        if factor.dead[k] {
                            dead += Double(qr[k]) * Double(qr[k])
                        } else {
                            let dlt = Double(wr[factor.perm[k]]) - Double(qr[k])
                            live += dlt * dlt
                        }
                    }
                }
            }
        }
        return max(0, loss - Double(factor.lambda) * live - dead)
    }

    static func ratio(_ a: Double, _ b: Double) -> Double {
        b > 0 ? a / b : (a > 0 ? .infinity : 0)
    }
}
