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

    /// Checks every setting against its valid range; messages name the flag as the reference spells it.
    public func validate() throws {
        func bad(_ m: String) -> SpQRError { SpQRError(.invalidSetting, m) }
        guard (1...8).contains(wbits) else {
            throw bad("wbits must be between 1 and 8, got \(wbits)")
        }
        if let g = groupsize, g < 1 {
            throw bad("groupsize must be a positive number of columns (or none for one group per row), got \(g)")
        }
        if let b = qqScaleBits, !(1...16).contains(b) {
            throw bad("qq_scale_bits must be between 1 and 16 (or none for 16-bit scales), got \(b)")
        }
        if let b = qqZeroBits, !(1...16).contains(b) {
            throw bad("qq_zero_bits must be between 1 and 16 (or none for 16-bit zero points), got \(b)")
        }
        guard qqGroupsize >= 1 else { throw bad("qq_groupsize must be at least 1, got \(qqGroupsize)") }
        guard !outlierThreshold.isNaN, outlierThreshold >= 0 else {
            throw bad("outlier_threshold must be a non-negative number or inf (off), got \(outlierThreshold)")
        }
        guard percdamp.isFinite, percdamp >= 0 else {
            throw bad("percdamp must be a non-negative number, got \(percdamp)")
        }
        guard blocksize >= 1 else { throw bad("blocksize must be at least 1, got \(blocksize)") }
        if !perchannel && outliersEnabled && !simplifiedOutliers {
            throw bad("outlier detection with the leave-one-out pass needs perchannel (as in the reference); "
                + "turn on perchannel, use simplified_outliers, or set outlier_threshold to inf")
        }
    }

    /// Warnings about settings that are accepted but adjusted for this layer.
    public func notes(inFeatures: Int) -> [String] {
        var notes: [String] = []
        if let g = groupsize, g > inFeatures {
            notes.append("groupsize \(g) is larger than the layer's \(inFeatures) input columns: one group per row is used")
        }
        return notes
    }
}

extension SpQRConfig {
    /// JSON keys: the reference `main.py` flag names.
    enum CodingKeys: String, CodingKey {
        case wbits, groupsize, perchannel, sym
        case qqScaleBits = "qq_scale_bits", qqZeroBits = "qq_zero_bits", qqZeroSym = "qq_zero_sym"
        case qqGroupsize = "qq_groupsize", roundZero = "round_zero", outlierThreshold = "outlier_threshold"
        case permutationOrder = "permutation_order", percdamp, blocksize
        case simplifiedOutliers = "simplified_outliers"
    }

    /// Decodes the reference flag set; missing keys keep the defaults, `null` means unset, an infinite
    /// threshold is the string "inf", and round_zero may be a boolean or 0/1 as the reference writes it.
    public init(from decoder: Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let v = try c.decodeIfPresent(Int.self, forKey: .wbits) { wbits = v }
        if c.contains(.groupsize) { groupsize = try c.decodeIfPresent(Int.self, forKey: .groupsize) }
        if let v = try c.decodeIfPresent(Bool.self, forKey: .perchannel) { perchannel = v }
        if let v = try c.decodeIfPresent(Bool.self, forKey: .sym) { sym = v }
        if c.contains(.qqScaleBits) { qqScaleBits = try c.decodeIfPresent(Int.self, forKey: .qqScaleBits) }
        if c.contains(.qqZeroBits) { qqZeroBits = try c.decodeIfPresent(Int.self, forKey: .qqZeroBits) }
        if let v = try c.decodeIfPresent(Bool.self, forKey: .qqZeroSym) { qqZeroSym = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .qqGroupsize) { qqGroupsize = v }
        if c.contains(.roundZero) {
            if let b = try? c.decodeIfPresent(Bool.self, forKey: .roundZero) {
                roundZero = b
            } else if let i = try? c.decodeIfPresent(Int.self, forKey: .roundZero) {
                roundZero = i != 0
            } else {
                roundZero = false
            }
        }
        if c.contains(.outlierThreshold) {
            if let s = try? c.decode(String.self, forKey: .outlierThreshold) {
                guard let v = Double(s) ?? (s.lowercased() == "off" ? .infinity : nil) else {
                    throw DecodingError.dataCorruptedError(forKey: .outlierThreshold, in: c,
                        debugDescription: "outlier_threshold must be a number or \"inf\", got \"\(s)\"")
                }
                outlierThreshold = v
            } else if let v = try c.decodeIfPresent(Double.self, forKey: .outlierThreshold) {
                outlierThreshold = v
            } else {
                outlierThreshold = .infinity
            }
        }
        if let v = try c.decodeIfPresent(PermutationOrder.self, forKey: .permutationOrder) { permutationOrder = v }
        if let v = try c.decodeIfPresent(Double.self, forKey: .percdamp) { percdamp = v }
        if let v = try c.decodeIfPresent(Int.self, forKey: .blocksize) { blocksize = v }
        if let v = try c.decodeIfPresent(Bool.self, forKey: .simplifiedOutliers) { simplifiedOutliers = v }
    }

    /// Encodes every flag with the reference's names (unset values as `null`, an infinite threshold as "inf").
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(wbits, forKey: .wbits)
        try c.encode(groupsize, forKey: .groupsize)
        try c.encode(perchannel, forKey: .perchannel)
        try c.encode(sym, forKey: .sym)
        try c.encode(qqScaleBits, forKey: .qqScaleBits)
        try c.encode(qqZeroBits, forKey: .qqZeroBits)
        try c.encode(qqZeroSym, forKey: .qqZeroSym)
        try c.encode(qqGroupsize, forKey: .qqGroupsize)
        try c.encode(roundZero, forKey: .roundZero)
        if outlierThreshold.isFinite { try c.encode(outlierThreshold, forKey: .outlierThreshold) }
        else { try c.encode("inf", forKey: .outlierThreshold) }
        try c.encode(permutationOrder, forKey: .permutationOrder)
        try c.encode(percdamp, forKey: .percdamp)
        try c.encode(blocksize, forKey: .blocksize)
        try c.encode(simplifiedOutliers, forKey: .simplifiedOutliers)
    }
}
