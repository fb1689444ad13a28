// The machine-readable summary of one quantized layer: the figures of the run and of its baselines
// under stable snake_case keys, shared by `quantize --json`, recipes and the explorer's export.

/// Figures of one layer at one configuration, as written to JSON.
public struct LayerReport: Sendable, Equatable, Codable {
    public var layer: String
    public var shape: [Int]
    public var config: SpQRConfig
    public var nOutliers: Int
    public var outlierFraction: Double
    public var avgBits: Double
    public var avgBitsWithoutOutliers: Double
    public var storageBits: Int
    public var storage: BitCost.Storage
    public var storageBitsPerWeight: Double
    public var compressionRatioFP16: Double
    public var compressionRatioSource: Double?
    public var sourceDtype: String?
    /// What the checkpoint says about the stored tensor (e.g. already quantized, so SpQR re-quantizes it).
    public var sourceNote: String?
    public var relWeightError: Double
    public var relProxyError: Double
    public var tau: Double?
    /// The layer's sensitivity concentration and SpQR's error concentration (LayerFigures); the latter is
    /// nil in recipes written before it was recorded.
    public var sensitivityConcentration: Double
    public var errorConcentration: Double?
    public var deadColumns: Int
    public var rtn: BaselineFigures?
    public var gptq: BaselineFigures?
    /// The best round-to-nearest and GPTQ configurations within `avgBits` (EqualBitBaselines.swift).
    public var rtnAtBits: EqualBitBaseline?
    public var gptqAtBits: EqualBitBaseline?
    public var seconds: Double?
    public var calibration: String?
    /// The warning when the layer is bigger than fp16 (SizeWarning.swift); nil otherwise.
    public var sizeWarning: String?

    enum CodingKeys: String, CodingKey {
        case layer, shape, config, storage, rtn, gptq, seconds, calibration, tau
        case nOutliers = "n_outliers", outlierFraction = "outlier_fraction", avgBits = "avg_bits"
        case avgBitsWithoutOutliers = "avg_bits_without_outliers", storageBits = "storage_bits"
        case storageBitsPerWeight = "storage_bits_per_weight", compressionRatioFP16 = "compression_ratio_fp16"
        case compressionRatioSource = "compression_ratio_source", sourceDtype = "source_dtype"
        case sourceNote = "source_note"
        case relWeightError = "rel_weight_error", relProxyError = "rel_proxy_error"
        case sensitivityConcentration = "sensitivity_concentration", errorConcentration = "error_concentration"
        case deadColumns = "dead_columns"
        case rtnAtBits = "rtn_at_bits", gptqAtBits = "gptq_at_bits"
        case sizeWarning = "size_warning"
    }

    /// The report of a run (and optionally its baselines).
    /// - Parameters:
    ///   - sourceBits: bits per weight of the checkpoint's dtype, for the compression ratio against it.
    public init(
        layer: String, result: SpQRResult, baselines: Baselines?, equalBits: EqualBitBaselines? = nil,
        sourceDtype: String? = nil,
        sourceBits: Double? = nil, seconds: Double? = nil, calibration: String? = nil
    ) {
        let f = result.figures
        self.layer = layer
        self.shape = [result.outFeatures, result.inFeatures]
        self.config = result.config
        nOutliers = f.nOutliers
        outlierFraction = f.outlierFraction
        avgBits = f.avgBits
        avgBitsWithoutOutliers = f.avgBitsWithoutOutliers
        storageBits = f.storage.total
        storage = f.storage
        storageBitsPerWeight = f.storageBitsPerWeight
        compressionRatioFP16 = f.compressionRatio(sourceBits: 16)
        compressionRatioSource = sourceBits.map { $0 * Double(f.parameters) / Double(max(f.storage.total, 1)) }
        self.sourceDtype = sourceDtype
        relWeightError = f.relWeightError
        relProxyError = f.relProxyError
        tau = f.tau.isFinite ? f.tau : nil
        sensitivityConcentration = f.sensitivityConcentration
        errorConcentration = f.errorConcentration
        deadColumns = f.deadColumns
        rtn = baselines?.rtn
        gptq = baselines?.gptq
        rtnAtBits = equalBits?.rtn
        gptqAtBits = equalBits?.gptq
        self.seconds = seconds
        self.calibration = calibration
        sizeWarning = f.sizeWarning
    }
}

extension LayerReport {
    /// The JSON key both concentration figures had before they were told apart. It held the sensitivity
    /// concentration in a report and the error concentration in a baseline, which is what it is read as.
    static let legacyConcentrationKey = "error_share_top1pct"

    /// A report object (as in a recipe written before the concentration figures were named) with the legacy
    /// key under its current names; other objects are returned unchanged.
    public static func renamingLegacyKeys(_ object: [String: Any]) -> [String: Any] {
        func rename(_ o: [String: Any], to key: String) -> [String: Any] {
            guard let old = o[legacyConcentrationKey], o[key] == nil else { return o }
            var out = o
            out[key] = old
            out[legacyConcentrationKey] = nil
            return out
        }
        var out = rename(object, to: CodingKeys.sensitivityConcentration.rawValue)
        for key in [CodingKeys.rtn, .gptq] {
            if let b = out[key.rawValue] as? [String: Any] {
                out[key.rawValue] = rename(b, to: BaselineFigures.CodingKeys.errorConcentration.rawValue)
            }
        }
        return out
    }
}

extension BaselineFigures {
    enum CodingKeys: String, CodingKey {
        case avgBits = "avg_bits", storageBits = "storage_bits", relWeightError = "rel_weight_error"
        case relProxyError = "rel_proxy_error", errorConcentration = "error_concentration"
    }
}

extension BitCost.Storage {
    enum CodingKeys: String, CodingKey {
        case codes, statistics, permutation, outliers
        case secondLevel = "second_level"
    }
}

extension EqualBitBaseline: Codable {
    enum CodingKeys: String, CodingKey { case settings }

    /// The settings under their reference flag names, next to the baseline's figures.
    public init(from decoder: Decoder) throws {
        settings = try decoder.container(keyedBy: CodingKeys.self).decode(SpQRConfig.self, forKey: .settings)
        figures = try BaselineFigures(from: decoder)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(settings, forKey: .settings)
        try figures.encode(to: encoder)
    }
}
