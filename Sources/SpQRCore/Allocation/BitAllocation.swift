// Bits allocated across a model's layers: one menu setting per layer chosen from the layers' fronts
// (LayerFront.swift) to meet a target (AllocationTarget.swift), solved by BudgetSolver.swift with
//
//     average bits   cost_ik = n_i·b_ik,  budget B·Σ n_i,                 value_ik = w_i·e_ik
//     total bytes    cost_ik = s_ik,      budget 8·(N − 2·kept),          value_ik = w_i·e_ik
//     maximum error  cost_ik = w_i·e_ik,  budget E,                       value_ik = n_i·b_ik
//
// where w_i = 1 (each layer's error is its absolute proxy loss) or, when the layers' sensitivities were
// measured on the model, w_i = s_i (LayerSensitivity.swift: the error becomes predicted KL); bits and
// error budgets are shrunk by 10⁻¹² relative, so that totals summed in another order still meet
// them. The recipe's defaults are the setting most layers got; every other layer overrides them.

/// Every quantizable layer of a model measured over one menu: what an allocation chooses from.
public struct ModelFronts: Sendable, Equatable, Codable {
    /// The menu's text form (SettingsMenu.description).
    public var menu: String
    /// The menu's configurations around the base settings; `FrontPoint.setting` indexes them.
    public var configs: [SpQRConfig]
    /// The quantized layers, in quantization order.
    public var layers: [LayerFront]
    /// Parameters of every tensor that is not quantized (kept at fp16 in the model's size).
    public var keptParameters: Int
    /// The calibration's label.
    public var calibration: String
    /// Whether H = I (data-free), which makes the error ‖ΔW‖².
    public var dataFree: Bool
    /// The layers' sensitivities measured on the model, one per layer in `layers` order, when the error
    /// is weighted by them; nil when it is the absolute proxy loss.
    public var sensitivity: ModelSensitivity?

    public init(
        menu: String, configs: [SpQRConfig], layers: [LayerFront], keptParameters: Int, calibration: String,
        dataFree: Bool, sensitivity: ModelSensitivity? = nil
    ) {
        self.menu = menu
        self.configs = configs
        self.layers = layers
        self.keptParameters = keptParameters
        self.calibration = calibration
        self.dataFree = dataFree
        self.sensitivity = sensitivity
    }

    enum CodingKeys: String, CodingKey {
        case menu, configs, layers, calibration, sensitivity
        case keptParameters = "kept_parameters", dataFree = "data_free"
    }

    /// The fronts with each layer's error weighted by `sensitivity` (one per layer, in order).
    public func weighted(by sensitivity: ModelSensitivity) throws -> ModelFronts {
        guard sensitivity.layers.map(\.layer) == layers.map(\.layer) else {
            throw SpQRError(
                .invalidSetting,
                "sensitivities of \(sensitivity.layers.count) layers do not match the \(layers.count) measured layers")
        }
        var f = self
        f.sensitivity = sensitivity
        return f
    }

    /// w_i: layer i's weight in the predicted error.
    public func errorScale(_ i: Int) -> Double { sensitivity?.layers[i].weight ?? 1 }

    /// The predicted error of layer i at its point `k`: w_i·e_ik.
    public func weightedError(_ i: Int, _ k: Int) -> Double { errorScale(i) * layers[i].points[k].error }

    /// Parameters of the quantized layers.
    public var parameters: Int { layers.reduce(0) { $0 + $1.parameters } }

    /// What each layer's error is, as reports name it.
    public var errorWeight: String {
        let proxy =
            "absolute proxy loss tr(ΔW H ΔWᵀ)" + (dataFree ? " with H = I (data-free: ‖ΔW‖²)" : " (\(calibration))")
        guard let sensitivity else { return proxy }
        return "predicted KL: each layer's \(proxy) × its KL per unit of proxy loss, measured on \(sensitivity.source)"
    }

    /// The short name of the error, as totals write it: "Σ proxy loss", or "predicted KL" when weighted by
    /// measured sensitivities.
    public var errorName: String { sensitivity == nil ? "Σ proxy loss" : "predicted KL" }

    /// The allocation of one setting per layer for every layer at `setting` (a uniform setting), for
    /// comparisons at equal bits.
    public func uniform(_ setting: Int) -> Allocation {
        Allocation(self, target: nil, choice: layers.map { _ in setting }, bound: nil, lambda: nil)
    }

    /// The uniform setting with the fewest average bits not below `bits` (the most accurate among equally
    /// cheap ones): the uniform comparison that spends at least an allocation's bits. nil when no menu
    /// setting reaches `bits`.
    public func uniform(notBelow bits: Double) -> Allocation? {
        configs.indices.map(uniform).filter { $0.avgBits >= bits }.min {
            ($0.avgBits, $0.error) < ($1.avgBits, $1.error)
        }
    }

    /// Chooses one setting per layer to meet `target` with the least Σ error (or, for a maximum error, the
    /// least average bits). Errors say when the target is out of reach and what the menu can reach.
    public func allocate(_ target: AllocationTarget) throws -> Allocation {
        try target.validate()
        guard !layers.isEmpty else {
            throw SpQRError(.invalidSetting, "allocation: the model has no layer to quantize")
        }
        let margin = 1 - 1e-12
        let groups: [[BudgetSolver.Option]]
        let budget: Double
        switch target {
        case .averageBits(let b):
            groups = layers.indices.map { i in
                layers[i].points.indices.map {
                    .init(
                        cost: Double(layers[i].parameters) * layers[i].points[$0].avgBits, value: weightedError(i, $0))
                }
            }
            budget = b * Double(parameters) * margin
        case .totalBytes(let n):
            groups = layers.indices.map { i in
                layers[i].points.indices.map {
                    .init(cost: Double(layers[i].points[$0].storageBits), value: weightedError(i, $0))
                }
            }
            budget = Double(8 * (n - 2 * keptParameters))
        case .maxError(let e):
            groups = layers.indices.map { i in
                layers[i].points.indices.map {
                    .init(
                        cost: weightedError(i, $0), value: Double(layers[i].parameters) * layers[i].points[$0].avgBits)
                }
            }
            budget = e * margin
        }
        do {
            let s = try BudgetSolver.minimise(groups, budget: budget)
            var a = Allocation(self, target: target, choice: s.choice, bound: s.bound, lambda: s.lambda)
            a.optimal = s.exact
            return a
        } catch let e as BudgetSolver.Infeasible {
            let least = Allocation(self, target: nil, choice: e.cheapest, bound: nil, lambda: nil)
            switch target {
            case .averageBits(let b):
                throw SpQRError(
                    .invalidSetting,
                    "target of \(b) average bits is out of reach: the least this menu gives is \(least.avgBits) (every layer at its cheapest setting); raise the target or add cheaper settings to the menu (lower wbits, larger groupsize)"
                )
            case .totalBytes(let n):
                throw SpQRError(
                    .invalidSetting,
                    "target of \(n) bytes (\(AllocationTarget.decimal(n))) is out of reach: the least this menu gives is \(least.bytes) bytes (\(AllocationTarget.decimal(least.bytes)), \(2 * keptParameters) of them the \(keptParameters) kept parameters at fp16); raise the target or add cheaper settings to the menu"
                )
            case .maxError(let m):
                throw SpQRError(
                    .invalidSetting,
                    "maximum error \(m) is out of reach: the least this menu gives is \(least.error) (every layer at its most accurate setting); raise it or add more accurate settings to the menu"
                )
            }
        }
    }
}

/// One setting per layer, with the model's totals and, when solved for a target, the gap to the bound.
public struct Allocation: Sendable, Equatable {
    /// A layer's chosen setting and its measured point.
    public struct Choice: Sendable, Equatable {
        public var layer: String
        public var shape: [Int]
        public var config: SpQRConfig
        public var point: FrontPoint
        /// The layer's predicted error: its proxy loss, times its sensitivity when the fronts have them.
        public var error: Double
        public var parameters: Int { shape.reduce(1, *) }
    }

    /// The target solved for; nil for a uniform or cheapest choice.
    public var target: AllocationTarget?
    /// One per layer, in the fronts' order.
    public var choices: [Choice]
    public var parameters: Int
    public var keptParameters: Int
    /// Σ n_i·b_i / Σ n_i.
    public var avgBits: Double
    /// Σ s_i, and the model's bytes in SpQR storage and at fp16 (ModelSize).
    public var storageBits: Int
    public var bytes: Int
    public var bytesFP16: Int
    /// Σ w_i·e_i, the predicted error.
    public var error: Double
    /// A lower bound on what the solver minimised (Σ e_i, or Σ n_i·b_i / Σ n_i for a maximum error), and the
    /// price λ* of its Lagrangian choice; nil when not solved.
    public var bound: Double?
    public var lambda: Double?
    /// Whether the solver proved the choice optimal (its branch and bound finished): no choice within the
    /// target has a lower minimised figure.
    public var optimal = false
    /// What the error is (ModelFronts.errorWeight), and its short name (ModelFronts.errorName).
    public var errorWeight: String
    public var errorName: String

    init(_ fronts: ModelFronts, target: AllocationTarget?, choice: [Int], bound: Double?, lambda: Double?) {
        self.target = target
        choices = zip(fronts.layers.indices, choice).map { i, k in
            let l = fronts.layers[i]
            return Choice(
                layer: l.layer, shape: l.shape, config: fronts.configs[l.points[k].setting], point: l.points[k],
                error: fronts.weightedError(i, k))
        }
        parameters = fronts.parameters
        keptParameters = fronts.keptParameters
        avgBits = choices.reduce(0) { $0 + Double($1.parameters) * $1.point.avgBits } / Double(max(parameters, 1))
        storageBits = choices.reduce(0) { $0 + $1.point.storageBits }
        bytes = ModelSize.spqrBytes(storageBits: storageBits, keptParameters: keptParameters)
        bytesFP16 = ModelSize.fp16Bytes(parameters: parameters + keptParameters)
        error = choices.reduce(0) { $0 + $1.error }
        if case .maxError = target {
            let n = Double(max(fronts.parameters, 1))
            self.bound = bound.map { $0 / n }
        } else {
            self.bound = bound
        }
        self.lambda = lambda
        errorWeight = fronts.errorWeight
        errorName = fronts.errorName
    }

    /// fp16 bytes over the model's bytes.
    public var compressionFP16: Double { Double(bytesFP16) / Double(max(bytes, 1)) }

    /// How far the minimised figure (Σ error, or the average bits for a maximum error) may be above the
    /// optimum: the figure minus the bound, ≥ 0; nil when not solved.
    public var gap: Double? {
        guard let bound else { return nil }
        if case .maxError = target { return max(0, avgBits - bound) }
        return max(0, error - bound)
    }

    /// The setting most layers got (the first in the menu's order among equally common ones): the recipe's
    /// defaults, which every other layer overrides.
    public var commonConfig: SpQRConfig {
        var count: [Int: Int] = [:]
        for c in choices { count[c.point.setting, default: 0] += 1 }
        let best = count.max { ($0.value, -$0.key) < ($1.value, -$1.key) }!.key
        return choices.first { $0.point.setting == best }!.config
    }
}
