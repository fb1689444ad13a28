// Measuring one layer: the single pipeline behind `quantize`, `recipe apply`, `sweep`, the bench and the
// explorer, so that every figure they show comes from the same sequence of steps.
//
//   loading:     W [out, in] from the checkpoint, H [in, in] from the calibration source
//   factorising: PreparedLayer for the (permutation_order, percdamp) of the configuration (SpQR.swift);
//                tr(W H Wᵀ) is computed with the first one and passed to the later ones
//   preview:     SpQR on whole second-level row blocks (SpQR.previewRows), when asked and when that is
//                fewer rows than the layer
//   full layer:  SpQR on every row, its progress the share of GPTQ column blocks done
//   baselines:   round-to-nearest and GPTQ without outliers at the same settings, when asked
//   equal bits:  the best round-to-nearest and GPTQ configurations within the SpQR run's average bits
//                (EqualBitBaselines.swift), when asked, reusing the same preparation
//
// The latest preparation is kept, so a change of bits, groups, threshold or second-level settings skips the
// factorisation. Only one is kept at a time (U alone is in² floats), so `measureEach` orders its
// configurations by preparation key: each key is factorised once however the configurations are listed.

/// The phases of a measurement, in the order they run; the raw value is what progress displays show.
public enum MeasurementPhase: String, Sendable {
    case loading
    case factorising
    case preview
    case fullLayer = "full layer"
    case baselines
    case equalBitBaselines = "equal-bit baselines"
}

/// Progress of a measurement: the phase under way and the share of it done, in [0, 1].
public typealias MeasurementProgress = @Sendable (MeasurementPhase, Double) -> Void

/// Which runs a measurement makes besides preparing the layer.
public struct MeasurementSteps: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }

    /// SpQR on a preview subset of rows first (skipped when the subset is the whole layer).
    public static let preview = MeasurementSteps(rawValue: 1 << 0)
    /// SpQR on every row.
    public static let fullLayer = MeasurementSteps(rawValue: 1 << 1)
    /// Round-to-nearest and GPTQ without outliers, on the rows of the last SpQR run.
    public static let baselines = MeasurementSteps(rawValue: 1 << 2)
    /// The best round-to-nearest and GPTQ configurations within the SpQR run's bits, on the same rows.
    public static let equalBitBaselines = MeasurementSteps(rawValue: 1 << 3)
}

/// The outcome of measuring one configuration.
public struct Measurement: Sendable {
    /// The SpQR run: the full layer, or the preview when only the preview was asked for.
    public let result: SpQRResult
    /// The baselines on the same rows, when asked for.
    public let baselines: Baselines?
    /// The equal-bit baselines on the same rows, when asked for.
    public let equalBitBaselines: EqualBitBaselines?
    /// Wall-clock seconds of each phase that ran (factorising only when this configuration needed it).
    public let phaseSeconds: [MeasurementPhase: Double]
    /// The figures under their JSON keys, with the layer's dtype and calibration.
    public let report: LayerReport

    /// Seconds of the factorisation (when it ran) and the SpQR runs, the time a user waits for the figures.
    public var seconds: Double {
        [MeasurementPhase.factorising, .preview, .fullLayer].reduce(0) { $0 + (phaseSeconds[$1] ?? 0) }
    }
}

/// One layer's W and H with its latest preparation: prepares, quantizes, runs the baselines and builds the
/// figures of any configuration. Use it from one thread at a time.
public final class LayerMeasurement {
    /// The layer's user-facing name.
    public let name: String
    /// W [out, in].
    public let weights: Matrix
    /// H [in, in], undamped.
    public let hessian: Matrix
    /// The checkpoint's dtype of W and its bits per weight, for the compression against the source.
    public let sourceDtype: String?
    public let sourceBits: Double?
    /// The calibration's label, recorded in reports.
    public let calibration: String?
    /// How many preparations (factorisations of the damped, permuted H) this measurement has made.
    public private(set) var factorisations = 0

    private var prepared: PreparedLayer?
    private var weightQuadratic: Double?

    /// A measurement of given W and H.
    public init(
        name: String, weights: Matrix, hessian: Matrix, sourceDtype: String? = nil, sourceBits: Double? = nil,
        calibration: String? = nil
    ) {
        self.name = name
        self.weights = weights
        self.hessian = hessian
        self.sourceDtype = sourceDtype
        self.sourceBits = sourceBits
        self.calibration = calibration
    }

    /// Reads W of `layer` from the checkpoint and its H from the calibration source.
    public convenience init(
        checkpoint: any Checkpoint, layer: String, calibration: any CalibrationSource,
        progress: MeasurementProgress? = nil
    ) throws {
        progress?(.loading, 0)
        let entry = try checkpoint.entry(layer)
        let w = try checkpoint.matrix(entry.name)
        let h = try calibration.hessian(forLayer: entry.name, inFeatures: w.cols)
        self.init(
            name: entry.name, weights: w, hessian: h, sourceDtype: entry.dtype, sourceBits: entry.bitsPerWeight,
            calibration: calibration.label)
    }

    /// The preparation for `config`'s permutation order and percdamp: the kept one when it matches, else a
    /// new factorisation (which replaces it).
    public func prepare(
        for config: SpQRConfig, cancel: CancellationToken? = nil,
        progress: MeasurementProgress? = nil
    ) throws -> PreparedLayer {
        if let prepared, prepared.matches(config) { return prepared }
        try cancel?.check()
        progress?(.factorising, 0)
        prepared = nil
        let p = try PreparedLayer(
            name: name, weights: weights, hessian: hessian, config: config,
            weightQuadratic: weightQuadratic)
        factorisations += 1
        prepared = p
        weightQuadratic = p.weightQuadratic
        return p
    }

    /// Measures `config`: prepares the layer when needed, then runs `steps` in the order of
    /// `MeasurementPhase`. `partial` receives each SpQR result that comes before the returned one — the
    /// preview, the full layer when baselines follow, and the same-settings baselines when the equal-bit
    /// ones follow — as soon as it is ready.
    public func measure(
        _ config: SpQRConfig, steps: MeasurementSteps = [.fullLayer, .baselines],
        cancel: CancellationToken? = nil, progress: MeasurementProgress? = nil,
        partial: ((Measurement) -> Void)? = nil
    ) throws -> Measurement {
        try config.validate()
        if steps.isDisjoint(with: [.preview, .fullLayer]) { try Self.noRun(name) }
        var seconds: [MeasurementPhase: Double] = [:]
        var clock = PhaseClock()
        let factorisedBefore = factorisations
        let p = try prepare(for: config, cancel: cancel, progress: progress)
        let prepareSeconds = clock.lap()
        if factorisations > factorisedBefore { seconds[.factorising] = prepareSeconds }
        try cancel?.check()

        var result: SpQRResult?
        if steps.contains(.preview) {
            let rows = SpQR.previewRows(outFeatures: weights.rows, config: config)
            if rows.count < weights.rows || !steps.contains(.fullLayer) {
                progress?(.preview, 0)
                result = try SpQR.run(p, config: config, rows: rows.count < weights.rows ? rows : nil, cancel: cancel)
                seconds[.preview] = clock.lap()
            }
        }
        if steps.contains(.fullLayer) {
            if let preview = result { partial?(measurement(preview, nil, seconds)) }
            progress?(.fullLayer, 0)
            result = try SpQR.run(p, config: config, cancel: cancel) { progress?(.fullLayer, $0) }
            try cancel?.check()
            seconds[.fullLayer] = clock.lap()
        }
        guard let last = result else { try Self.noRun(name) }
        var baselines: Baselines?
        if steps.contains(.baselines) {
            partial?(measurement(last, nil, seconds))
            progress?(.baselines, 0)
            baselines = try SpQR.baselines(
                p, config: config, rows: last.isPreview ? last.rowIndices : nil, cancel: cancel)
            seconds[.baselines] = clock.lap()
        }
        var equalBits: EqualBitBaselines?
        if steps.contains(.equalBitBaselines) {
            partial?(measurement(last, baselines, seconds))
            progress?(.equalBitBaselines, 0)
            equalBits = try EqualBitSearch.search(p, spqr: last, cancel: cancel) { progress?(.equalBitBaselines, $0) }
            seconds[.equalBitBaselines] = clock.lap()
        }
        return measurement(last, baselines, seconds, equalBits: equalBits)
    }

    /// Measures every configuration with `steps`, grouped by preparation key (in the order each key first
    /// appears) so that each key is factorised once, and hands each measurement to `each` with its index in
    /// `configs` and the number done so far.
    public func measureEach(
        _ configs: [SpQRConfig], steps: MeasurementSteps = [.fullLayer],
        cancel: CancellationToken? = nil,
        each: (_ index: Int, _ done: Int, Measurement) throws -> Void
    ) throws {
        var order: [Int] = []
        var keysSeen: [PreparationKey: Int] = [:]
        var groups: [[Int]] = []
        for (i, c) in configs.enumerated() {
            let key = PreparationKey(c)
            if let g = keysSeen[key] {
                groups[g].append(i)
            } else {
                keysSeen[key] = groups.count
                groups.append([i])
            }
        }
        for g in groups { order += g }
        for (done, i) in order.enumerated() {
            try each(i, done + 1, try measure(configs[i], steps: steps, cancel: cancel))
        }
    }

    private static func noRun(_ name: String) throws -> Never {
        throw SpQRError(.invalidSetting, "internal: a measurement of \(name) needs a preview or a full-layer step")
    }

    private func measurement(
        _ result: SpQRResult, _ baselines: Baselines?, _ seconds: [MeasurementPhase: Double],
        equalBits: EqualBitBaselines? = nil
    ) -> Measurement {
        Measurement(
            result: result, baselines: baselines, equalBitBaselines: equalBits, phaseSeconds: seconds,
            report: LayerReport(
                layer: name, result: result, baselines: baselines, equalBits: equalBits,
                sourceDtype: sourceDtype, sourceBits: sourceBits, calibration: calibration))
    }
}

/// What a preparation depends on besides W and H.
struct PreparationKey: Hashable {
    let permutationOrder: PermutationOrder
    let percdamp: Double

    init(_ config: SpQRConfig) {
        permutationOrder = config.permutationOrder
        percdamp = config.percdamp
    }
}
