// The settings of the reference SpQR engine (Vahe1994/SpQR `main.py` flags), in the order the SpQR README
// writes them, with blocksize (which main.py fixes at 128) last. Ranges are what the reference accepts:
// any positive group size (main.py's `--groupsize` is a plain int; groups need not be powers of two),
// second-level bits 1–16, a non-negative outlier threshold or inf. wbits is limited to 1–8 (main.py offers
// 2, 3, 4, 8 and 16, where 16 skips quantization). Steps are the values the explorer's sliders and
// advanced panel go through.

extension Setting {
    /// Bits per weight code.
    public static let wbits = Setting(
        "wbits", \.wbits, .integer(1...8, unit: "bits", unset: nil), steps: Array(2...8),
        help: "Bits per weight code (1-8)")
    /// Input columns per group of statistics.
    public static let groupsize = Setting(
        "groupsize", \.groupsize, .integer(1...Int.max, unit: "columns", unset: "one group per row"),
        steps: [4, 8, 16, 32, 64, 128, 256, nil],
        help: "Input columns per group")
    /// Statistics per output row.
    public static let perchannel = Setting(
        "perchannel", \.perchannel,
        .flag(negation: "One set of statistics per group for all rows"),
        steps: [false, true], help: "Statistics per output row (the default)")
    /// Symmetric first-level quantizer.
    public static let sym = Setting(
        "sym", \.sym, .flag(negation: nil), steps: [false, true],
        help: "Symmetric first-level quantizer")
    /// Bits of the second-level scale quantizer.
    public static let qqScaleBits = Setting(
        "qq_scale_bits", \.qqScaleBits, .integer(1...16, unit: "bits", unset: "16-bit scales"),
        steps: [nil, 2, 3, 4, 8],
        help: "Bits of the second-level scale quantizer")
    /// Bits of the second-level zero-point quantizer.
    public static let qqZeroBits = Setting(
        "qq_zero_bits", \.qqZeroBits, .integer(1...16, unit: "bits", unset: "16-bit zero points"),
        steps: [nil, 2, 3, 4, 8],
        help: "Bits of the second-level zero-point quantizer")
    /// Symmetric second-level zero-point quantizer.
    public static let qqZeroSym = Setting(
        "qq_zero_sym", \.qqZeroSym, .flag(negation: nil), steps: [false, true],
        help: "Symmetric second-level zero-point quantizer")
    /// Output rows per second-level group.
    public static let qqGroupsize = Setting(
        "qq_groupsize", \.qqGroupsize, .integer(1...Int.max, unit: "rows", unset: nil),
        steps: [8, 16, 32, 64, 128], help: "Output rows per second-level group")
    /// Round first-level zero points.
    public static let roundZero = Setting(
        "round_zero", \.roundZero, .binary, steps: [false, true],
        help: "Round first-level zero points to integers")
    /// Relative outlier threshold.
    public static let outlierThreshold = Setting(
        "outlier_threshold", \.outlierThreshold,
        .number(minimum: 0, infinity: "no outliers"), reference: .joined,
        steps: [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5, .infinity],
        help: "Relative outlier threshold (higher = fewer outliers)")
    /// Column processing order.
    public static let permutationOrder = Setting(
        "permutation_order", \.permutationOrder,
        .choice(PermutationOrder.allCases.map(\.rawValue)),
        steps: PermutationOrder.allCases,
        help: "Order in which input columns are processed")
    /// Relative Hessian damping.
    public static let percdamp = Setting(
        "percdamp", \.percdamp, .number(minimum: 0, infinity: nil), steps: [0.01, 0.1, 1.0],
        help: "Relative Hessian damping (README recipe: 1e0)")
    /// Columns per lazy GPTQ block.
    public static let blocksize = Setting(
        "blocksize", \.blocksize, .integer(1...Int.max, unit: "columns", unset: nil),
        reference: .absent(uses: .integer(128), note: "with groupsize dividing both, the result is the same"),
        steps: [], help: "Columns per lazy GPTQ block")
    /// Skip the leave-one-out outlier pre-pass.
    public static let simplifiedOutliers = Setting(
        "simplified_outliers", \.simplifiedOutliers, .flag(negation: nil),
        steps: [false, true], help: "Skip the leave-one-out outlier pre-pass")

    /// Every setting, in the reference README's order (blocksize, which main.py lacks, after percdamp).
    public static let all: [Setting] = [
        wbits, groupsize, perchannel, sym, qqScaleBits, qqZeroBits, qqZeroSym, qqGroupsize,
        roundZero, outlierThreshold, permutationOrder, percdamp, blocksize, simplifiedOutliers,
    ]

    /// The setting with the reference flag name `name`.
    public static func named(_ name: String) -> Setting? { all.first { $0.name == name } }
}
