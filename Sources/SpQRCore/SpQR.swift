// One SpQR run on one linear layer, as the reference engine computes it, with the figures the explorer
// shows and the baselines that isolate each ingredient.
//
//   prepare:  (PreparedLayer.swift) perm, Hp, dead columns, damping, U (Uᵀ U = Hd⁻¹), Wp = W[:, perm] with dead columns zeroed,
//             the outlier scale mean_j Var_i(Wp[:, j]) / d_j²               (per layer, order and percdamp)
//   run:      τ = outlier_threshold · outlier scale; GPTQ with outliers (GPTQ.swift); figures
//   baselines: round-to-nearest and GPTQ without outliers at the same settings
//
// Everything a run returns is in the original column order. Source: reference `SPQRUtil.quantize`.

import Dispatch
import Foundation

/// Measures consecutive phases.
public struct PhaseClock {
    private var last = DispatchTime.now().uptimeNanoseconds

    public init() {}

    /// Seconds since the previous lap (or the start).
    public mutating func lap() -> Double {
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
    public static func run(
        _ layer: PreparedLayer, config: SpQRConfig, rows: [Int]? = nil,
        cancel: CancellationToken? = nil, progress: ProgressHandler? = nil
    ) throws -> SpQRResult {
        try config.validate()
        guard layer.matches(config) else {
            throw SpQRError(
                .invalidSetting, "internal: layer \(layer.name) was prepared for another permutation order or percdamp")
        }
        let n = layer.weights.cols
        let rowIndices = rows ?? Array(0..<layer.weights.rows)
        let m = rowIndices.count
        var clock = PhaseClock()
        let wp = layer.permutedWeights(rows: rows)
        let tau = layer.tau(for: config)
        var out = try GPTQ.run(
            wp: consume wp, rows: m, factor: layer.factor, config: config, tau: Float(tau),
            cancel: cancel, progress: progress)
        let gptqSeconds = clock.lap()
        let perm = layer.factor.perm
        let original = rows == nil ? layer.weights.values : layer.weights.selectingRows(rowIndices).values
        let maps = MapFigures(moving: &out)
        DispatchQueue.concurrentPerform(iterations: 3) { job in
            maps.run(job, original: original, rows: m, factor: layer.factor)
        }
        maps.move(into: &out)
        let (numerator, nOutliers, relWeightError) = (maps.numerator, maps.nOutliers, maps.relWeightError)
        let (sensitivityConcentration, errorConcentration) = (maps.sensitivityConcentration, maps.errorConcentration)
        let figuresSeconds = clock.lap()
        let denominator = layer.weightQuadratic(rows: rows)
        let denominatorSeconds = clock.lap()
        let params = m * n
        guard out.proxyLoss.isFinite, numerator.isFinite, denominator.isFinite else {
            let largest = layer.weights.values.reduce(Float(0)) { max($0, abs($1)) }
            throw SpQRError(
                .nonFinite,
                "layer \(layer.name): the error figures overflow float32 (largest |w| is \(largest)); "
                    + "weights or Hessian entries this large cannot be quantized meaningfully — check the tensor's dtype and scale"
            )
        }
        let share = Double(nOutliers) / Double(max(params, 1))
        let figures = LayerFigures(
            nOutliers: nOutliers, outlierFraction: share,
            avgBits: BitCost.referenceAverageBits(config, outlierShare: share),
            avgBitsWithoutOutliers: BitCost.referenceAverageBits(config, outlierShare: 0),
            storage: BitCost.storage(config, rows: m, cols: n, outliers: nOutliers),
            relWeightError: relWeightError,
            relProxyError: ratio(numerator, denominator),
            sensitivityConcentration: sensitivityConcentration, errorConcentration: errorConcentration,
            tau: tau, deadColumns: layer.deadColumns.count, parameters: params)
        return SpQRResult(
            config: config, rowIndices: rowIndices, outFeatures: layer.weights.rows, inFeatures: n,
            dequantized: Matrix(rows: m, cols: n, values: out.q), outlierMask: out.outliers,
            permutation: perm, statistics: out.statistics,
            sensitivity: out.sensitivity, errorContribution: out.errorContribution,
            proxyLoss: out.proxyLoss, figures: figures,
            timings: RunTimings(
                gptqLoop: gptqSeconds, outlierPass: out.groupFitSeconds,
                figures: figuresSeconds + denominatorSeconds, proxyDenominator: denominatorSeconds))
    }

    /// Round-to-nearest and GPTQ without outliers at the settings of `config`, on the same rows.
    public static func baselines(
        _ layer: PreparedLayer, config: SpQRConfig, rows: [Int]? = nil,
        cancel: CancellationToken? = nil
    ) throws -> Baselines {
        try config.validate()
        let rtn = try roundToNearestFigures(layer, config: config, rows: rows, cancel: cancel)
        try cancel?.check()
        let gptq = try gptqWithoutOutliersFigures(layer, config: config, rows: rows, cancel: cancel)
        return Baselines(rtn: rtn, gptq: gptq)
    }

    /// `config` with outliers off: the settings a baseline actually runs with.
    static func withoutOutliers(_ config: SpQRConfig) -> SpQRConfig {
        var plain = config
        plain.outlierThreshold = .infinity
        return plain
    }

    /// The bit figures of a baseline at `config` (no outliers) over `rows` × `cols` weights.
    static func baselineBits(_ config: SpQRConfig, rows: Int, cols: Int) -> (avgBits: Double, storageBits: Int) {
        (
            BitCost.referenceAverageBits(config, outlierShare: 0),
            BitCost.storage(withoutOutliers(config), rows: rows, cols: cols, outliers: 0).total
        )
    }

    /// Round-to-nearest at the groups, bits and second-level settings of `config`, on the given rows.
    public static func roundToNearestFigures(
        _ layer: PreparedLayer, config: SpQRConfig, rows: [Int]? = nil,
        cancel: CancellationToken? = nil
    ) throws -> BaselineFigures {
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
        var error: [Float] = uninitializedArray(m * n)
        var weightNum: Double = 0
        var weightDen: Double = 0
        var proxyNum: Double = 0
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
                error[r0 * n + k] = e * e
                weightNum += Double(delta[k]) * Double(delta[k])
                weightDen += Double(wp[k]) * Double(wp[k])
            }
            unpermuteColumnsInPlace(&delta, rows: r1 - r0, cols: n, order: perm)
            proxyNum += ErrorFigures.rowQuadraticForms(delta, rows: r1 - r0, hessian: layer.hessian).reduce(0, +)
            r0 = r1
        }
        let bits = baselineBits(config, rows: m, cols: n)
        return BaselineFigures(
            avgBits: bits.avgBits, storageBits: bits.storageBits,
            relWeightError: ratio(weightNum, weightDen).squareRoot(),
            relProxyError: ratio(proxyNum, denominator),
            errorConcentration: ErrorFigures.concentration(error))
    }

    /// GPTQ with outliers off at the other settings of `config`, on the given rows.
    public static func gptqWithoutOutliersFigures(
        _ layer: PreparedLayer, config: SpQRConfig, rows: [Int]? = nil,
        cancel: CancellationToken? = nil
    ) throws -> BaselineFigures {
        let g = try run(layer, config: withoutOutliers(config), rows: rows, cancel: cancel)
        let bits = baselineBits(config, rows: g.rowIndices.count, cols: layer.weights.cols)
        return BaselineFigures(
            avgBits: bits.avgBits, storageBits: bits.storageBits,
            relWeightError: g.figures.relWeightError, relProxyError: g.figures.relProxyError,
            errorConcentration: g.figures.errorConcentration)
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

    /// tr(ΔW H ΔWᵀ) from the damped loss Σ e² (see ErrorFigures.swift), with ΔW = W − Q in the original
    /// column order (`quantized` already unpermuted).
    static func proxyNumerator(
        loss: Double, original: [Float], quantized: [Float], rows: Int, factor: HessianFactor
    ) -> Double {
        let (live, dead) = squaredDeltas(original: original, quantized: quantized, rows: rows, factor: factor)
        return max(0, loss - Double(factor.lambda) * live - dead)
    }

    /// ‖ΔWp[:, live]‖² and ‖ΔWp[:, dead]‖², read in the original column order: ΔWp = Wp − Qp, and Wp is 0
    /// at a dead column, so its terms are Q². Each is a row-wise lane sum (LaneSum.swift: original column c
    /// in lane c mod 8, rows one after another).
    static func squaredDeltas(original: [Float], quantized: [Float], rows: Int, factor: HessianFactor) -> (
        live: Double, dead: Double
    ) {
        let n = factor.count
        precondition(original.count == rows * n && quantized.count == rows * n)
        // Per original column: set where dead, as eight-lane masks for the full octets of a row.
        let octets = n / 8
        var isDead = [Bool](repeating: false, count: n)
        for k in 0..<n where factor.dead[k] { isDead[factor.perm[k]] = true }
        var deadOctets = [SIMDMask<SIMD8<Int64>>](repeating: .init(repeating: false), count: octets)
        for c in 0..<(octets * 8) where isDead[c] { deadOctets[c / 8][c % 8] = true }
        var live = LaneSum()
        var dead = LaneSum()
        original.withUnsafeBufferPointer { w in
            quantized.withUnsafeBufferPointer { q in
                for r in 0..<rows {
                    let wr = UnsafeRawPointer(w.baseAddress! + r * n)
                    let qr = UnsafeRawPointer(q.baseAddress! + r * n)
                    for o in 0..<octets {
                        let offset = 32 * o
                        let qv = SIMD8<Double>(qr.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self))
                        let dlt = SIMD8<Double>(wr.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self)) - qv
                        let mask = deadOctets[o]
                        live.add((dlt * dlt).replacing(with: 0, where: mask))
                        dead.add((qv * qv).replacing(with: 0, where: .!mask))
                    }
                    for c in (octets * 8)..<n {
                        let qc = Double(q[r * n + c])
                        if isDead[c] {
                            dead.add(qc * qc, lane: c & 7)
                        } else {
                            let dlt = Double(w[r * n + c]) - qc
                            live.add(dlt * dlt, lane: c & 7)
                        }
                    }
                }
            }
        }
        return (live.total, dead.total)
    }

    static func ratio(_ a: Double, _ b: Double) -> Double {
        b > 0 ? a / b : (a > 0 ? .infinity : 0)
    }
}

/// The figures read from a run's maps, and the maps put back in the original column order, as three jobs
/// over disjoint maps that run side by side. Jobs 1 and 2 read their maps in the processing order, then
/// unpermute them; job 0 unpermutes Q first and reads it beside W. Every sum goes in a fixed order
/// (LaneSum.swift) that no thread count changes.
private final class MapFigures: @unchecked Sendable {
    var q: [Float] = []
    var sensitivity: [Float] = []
    var errorContribution: [Float] = []
    var outliers: [UInt8] = []
    let proxyLoss: Double
    var numerator: Double = 0
    var nOutliers = 0
    var sensitivityConcentration: Double = 0
    var errorConcentration: Double = 0
    var relWeightError: Double = 0

    /// Takes the maps of `out`, which it leaves empty until `move(into:)`.
    init(moving out: inout GPTQOutput) {
        proxyLoss = out.proxyLoss
        swap(&q, &out.q)
        swap(&sensitivity, &out.sensitivity)
        swap(&errorContribution, &out.errorContribution)
        swap(&outliers, &out.outliers)
    }

    /// Puts the unpermuted maps back.
    func move(into out: inout GPTQOutput) {
        swap(&q, &out.q)
        swap(&sensitivity, &out.sensitivity)
        swap(&errorContribution, &out.errorContribution)
        swap(&outliers, &out.outliers)
    }

    /// Job 0: Q unpermuted, then the proxy numerator and the relative weight error; job 1: the sensitivity
    /// concentration and map; job 2: the error concentration, the outlier count, and both their maps.
    func run(_ job: Int, original: [Float], rows m: Int, factor: HessianFactor) {
        let n = factor.count
        switch job {
        case 0:
            unpermuteColumnsInPlace(&q, rows: m, cols: n, order: factor.perm)
            numerator = SpQR.proxyNumerator(loss: proxyLoss, original: original, quantized: q, rows: m, factor: factor)
            relWeightError = ErrorFigures.relativeWeightError(original: original, quantized: q)
        case 1:
            sensitivityConcentration = ErrorFigures.concentration(sensitivity)
            unpermuteColumnsInPlace(&sensitivity, rows: m, cols: n, order: factor.perm)
        default:
            errorConcentration = ErrorFigures.concentration(errorContribution)
            nOutliers = outliers.withUnsafeBufferPointer { p in p.reduce(0) { $0 + Int($1) } }
            unpermuteColumnsInPlace(&errorContribution, rows: m, cols: n, order: factor.perm)
            unpermuteColumnsInPlace(&outliers, rows: m, cols: n, order: factor.perm)
        }
    }
}
