// One layer's error–bits front: the layer measured at every setting of a menu (SettingsMenu.swift),
//
//     point_k = (b_k, s_k, e_k)   b_k = reference average bits (BitCost.referenceAverageBits, outliers
//                                       included), s_k = exact storage bits,
//                                 e_k = tr(ΔW_k H ΔW_kᵀ) = rel_proxy_error_k · tr(W H Wᵀ), ΔW_k = W − Q_k
//
// e_k is the layer's absolute proxy loss (ErrorFigures.swift): the expected squared output error over the
// calibration inputs, so errors of different layers add up in one unit (under H = I it is ‖ΔW‖²). A layer
// of n = out·in weights adds n·b_k to the model's bits. The solver chooses among the points of the lower
// convex hull of (cost, e) (LowerConvexHull.swift) and, in its fix-up, among all of them.

/// A layer's measurement at one setting of a menu.
public struct FrontPoint: Sendable, Equatable, Codable {
    /// The setting's index in the menu's configurations.
    public var setting: Int
    /// Reference average bits per weight, outliers included.
    public var avgBits: Double
    /// Exact storage bits of the whole layer.
    public var storageBits: Int
    /// Absolute proxy loss tr(ΔW H ΔWᵀ).
    public var error: Double
    /// tr(ΔW H ΔWᵀ) / tr(W H Wᵀ).
    public var relProxyError: Double
    /// Share of the weights kept as outliers.
    public var outlierFraction: Double

    public init(
        setting: Int, avgBits: Double, storageBits: Int, error: Double, relProxyError: Double,
        outlierFraction: Double
    ) {
        self.setting = setting
        self.avgBits = avgBits
        self.storageBits = storageBits
        self.error = error
        self.relProxyError = relProxyError
        self.outlierFraction = outlierFraction
    }

    enum CodingKeys: String, CodingKey {
        case setting, error
        case avgBits = "avg_bits", storageBits = "storage_bits", relProxyError = "rel_proxy_error"
        case outlierFraction = "outlier_fraction"
    }
}

/// One layer measured over a menu: a point per setting, in the menu's order.
public struct LayerFront: Sendable, Equatable, Codable {
    /// The layer's tensor name.
    public var layer: String
    /// [out, in].
    public var shape: [Int]
    /// One point per menu setting, `points[k].setting == k`.
    public var points: [FrontPoint]

    public init(layer: String, shape: [Int], points: [FrontPoint]) {
        self.layer = layer
        self.shape = shape
        self.points = points
    }

    /// Number of weights, the layer's weight in the average bits.
    public var parameters: Int { shape.reduce(1, *) }

    /// Indices into `points` of the lower convex hull of (average bits, error): the settings no mix of
    /// others beats at any price of bits.
    public var hull: [Int] { LowerConvexHull.indices(cost: points.map(\.avgBits), error: points.map(\.error)) }

    /// Measures `configs` (a menu's configurations) on `measurement`, each preparation key factorised once
    /// (LayerMeasurement.measureEach). `progress(done, total)` after each setting; `cancel` stops between
    /// GPTQ blocks.
    public static func measure(
        _ measurement: LayerMeasurement, configs: [SpQRConfig], cancel: CancellationToken? = nil,
        progress: ((_ done: Int, _ total: Int) -> Void)? = nil
    ) throws -> LayerFront {
        var points = [FrontPoint?](repeating: nil, count: configs.count)
        try measurement.measureEach(configs, steps: [.fullLayer], cancel: cancel) { index, done, m in
            // The kept preparation is this configuration's; it carries tr(W H Wᵀ).
            let quadratic = try measurement.prepare(for: configs[index]).weightQuadratic
            let f = m.result.figures
            points[index] = FrontPoint(
                setting: index, avgBits: f.avgBits, storageBits: f.storage.total,
                error: f.relProxyError * quadratic, relProxyError: f.relProxyError,
                outlierFraction: f.outlierFraction)
            progress?(done, configs.count)
        }
        return LayerFront(
            layer: measurement.name, shape: [measurement.weights.rows, measurement.weights.cols],
            points: points.map { $0! })
    }
}
