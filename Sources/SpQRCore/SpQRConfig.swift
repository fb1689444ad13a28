// The settings of one SpQR run, named as the reference `main.py` names its flags.
//
// Defaults are the SpQR README's 3-bit LLaMA recipe (wbits 3, groupsize 16, perchannel, qq_scale_bits 3,
// qq_zero_bits 3, qq_groupsize 16, outlier_threshold 0.2, act_order, percdamp 1.0), which is what the
// explorer opens with. Note that the reference `main.py` has different defaults for flags that a command
// line leaves out (wbits 16, percdamp 0.01, identity order, no outliers, perchannel off).

/// The order in which input columns are processed (reference `weight_permutation.py`).
public enum PermutationOrder: String, Sendable, Codable, CaseIterable {
    /// 0, 1, …, in−1.
    case identity
    /// Columns by descending diag(H) (the "act order" of GPTQ).
    case actOrder = "act_order"
    /// Greedy chain over the Spearman correlation of the columns of W.
    case spearman
}

/// Every setting of the reference SpQR engine.
public struct SpQRConfig: Sendable, Equatable, Hashable, Codable {
    /// Bits per weight code (1–8).
    public var wbits: Int = 3
    /// Input columns per group of statistics; `nil` is one group per row (reference: `groupsize=None`).
    public var groupsize: Int? = 16
    /// One (scale, zero) per output row and group; off means one per group for the whole matrix.
    public var perchannel: Bool = true
    /// Symmetric first-level quantizer.
    public var sym: Bool = false
    /// Bits of the second-level quantizer of the scales; `nil` keeps scales in 16-bit float.
    public var qqScaleBits: Int? = 3
    /// Bits of the second-level quantizer of the zero points; `nil` keeps them in 16-bit float.
    public var qqZeroBits: Int? = 3
    /// Symmetric second-level quantizer for the zero points.
    public var qqZeroSym: Bool = false
    /// Consecutive output rows that share one second-level quantizer.
    public var qqGroupsize: Int = 16
    /// Round the first-level zero point to an integer.
    public var roundZero: Bool = false
    /// Relative outlier threshold; `.infinity` turns outliers off. Higher means fewer outliers.
    public var outlierThreshold: Double = 0.2
    /// Column processing order.
    public var permutationOrder: PermutationOrder = .actOrder
    /// Relative damping added to the Hessian diagonal: λ = percdamp · mean |diag H|.
    public var percdamp: Double = 1.0
    /// Columns per lazy GPTQ block.
    public var blocksize: Int = 128
    /// Skip the leave-one-out outlier pre-pass at each group start.
    public var simplifiedOutliers: Bool = false

    public init() {}

    /// The SpQR README's 3-bit LLaMA recipe (the default).
    public static let readme3bit = SpQRConfig()

    /// The SpQR README's 4-bit LLaMA recipe.
    public static var readme4bit: SpQRConfig {
        var c = SpQRConfig()
        c.wbits = 4
        return c
    }

    /// Whether outliers are detected at all.
    public var outliersEnabled: Bool { outlierThreshold.isFinite }

    /// Whether the second-level quantizer applies to the zero points. The reference skips it when the
    /// zero point is already rounded to `wbits` bits or fewer (`quant_groups.py`, `find_params`).
    public var quantizesZeros: Bool {
        guard let qz = qqZeroBits else { return false }
        return !roundZero || qz < wbits
    }

    /// The effective group size for a layer with `inFeatures` columns (none, or larger than the row,
    /// means one group per row).
    public func effectiveGroupsize(inFeatures: Int) -> Int {
        guard let g = groupsize, g < inFeatures else { return max(inFeatures, 1) }
        return g
    }

    /// Checks every setting against its valid range (`Setting.all`) and the combinations the reference
    /// refuses; messages name the flag as the reference spells it.
    public func validate() throws {
        for setting in Setting.all {
            let value = setting.value(in: self)
            if let problem = setting.rangeProblem(value) {
                throw SpQRError(.invalidSetting, "\(setting.name) must be \(problem), got \(setting.text(of: value))")
            }
        }
        if !perchannel && outliersEnabled && !simplifiedOutliers {
            throw SpQRError(
                .invalidSetting,
                "outlier detection with the leave-one-out pass needs perchannel (as in the reference); "
                    + "turn on perchannel, use simplified_outliers, or set outlier_threshold to inf")
        }
    }

    /// Warnings about settings that are accepted but adjusted for this layer.
    public func notes(inFeatures: Int) -> [String] {
        var notes: [String] = []
        if let g = groupsize, g > inFeatures {
            notes.append(
                "groupsize \(g) is larger than the layer's \(inFeatures) input columns: one group per row is used")
        }
        return notes
    }
}

extension SpQRConfig {
    /// A JSON key: a setting's reference flag name.
    struct SettingKey: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    /// Decodes the reference flag set (`Setting.decode(json:)` for each key present); missing keys keep
    /// the defaults and unknown keys are ignored.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: SettingKey.self)
        for setting in Setting.all {
            let key = SettingKey(stringValue: setting.name)
            guard c.contains(key) else { continue }
            do {
                try setting.set(setting.decode(json: c.decode(RecipeValue.self, forKey: key)), in: &self)
            } catch let e as SpQRError {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: e.message)
            }
        }
    }

    /// Encodes every setting under its reference flag name, in its JSON form (`Setting.json`).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: SettingKey.self)
        for setting in Setting.all {
            try c.encode(setting.json(setting.value(in: self)), forKey: SettingKey(stringValue: setting.name))
        }
    }
}
