// The SpQR settings on the command line. Each flag takes the reference `main.py` spelling
// (--qq_scale_bits) and kebab-case (--qq-scale-bits), so a reference command line can be pasted.

import ArgumentParser
import SpQRCore

struct SettingsOptions: ParsableArguments {
    @Option(name: [.customLong("wbits")], help: "Bits per weight code (1-8).")
    var wbits: Int?

    @Option(name: [.customLong("groupsize")], help: "Input columns per group, or 'none' for one group per row.")
    var groupsize: String?

    @Flag(name: [.customLong("perchannel")], help: "Statistics per output row (the default).")
    var perchannel = false

    @Flag(name: [.customLong("no-perchannel"), .customLong("no_perchannel")], help: "One set of statistics per group for all rows.")
    var noPerchannel = false

    @Flag(name: [.customLong("sym")], help: "Symmetric first-level quantizer.")
    var sym = false

    @Option(name: [.customLong("qq_scale_bits"), .customLong("qq-scale-bits")], help: "Bits of the second-level scale quantizer, or 'none' for fp16 scales.")
    var qqScaleBits: String?

    @Option(name: [.customLong("qq_zero_bits"), .customLong("qq-zero-bits")], help: "Bits of the second-level zero-point quantizer, or 'none'.")
    var qqZeroBits: String?

    @Flag(name: [.customLong("qq_zero_sym"), .customLong("qq-zero-sym")], help: "Symmetric second-level zero-point quantizer.")
    var qqZeroSym = false

    @Option(name: [.customLong("qq_groupsize"), .customLong("qq-groupsize")], help: "Output rows per second-level group.")
    var qqGroupsize: Int?

    @Option(name: [.customLong("round_zero"), .customLong("round-zero")], help: "1 to round first-level zero points (reference: --round_zero 1).")
    var roundZero: String?

    @Option(name: [.customLong("outlier_threshold"), .customLong("outlier-threshold")], help: "Relative outlier threshold (higher = fewer outliers), or 'inf'/'off'.")
    var outlierThreshold: String?

    @Option(name: [.customLong("permutation_order"), .customLong("permutation-order")], help: "identity, act_order or spearman.")
    var permutationOrder: String?

    @Option(name: [.customLong("percdamp")], help: "Relative Hessian damping (README recipe: 1e0).")
    var percdamp: Double?

    @Option(name: [.customLong("blocksize")], help: "Columns per lazy GPTQ block.")
    var blocksize: Int?

    @Flag(name: [.customLong("simplified_outliers"), .customLong("simplified-outliers")], help: "Skip the leave-one-out outlier pre-pass.")
    var simplifiedOutliers = false

    @Option(name: [.customLong("nsamples")], help: "Accepted for reference command lines; calibration size is set by the calibration file.")
    var nsamples: Int?

    /// Applies the flags given on top of `base`.
    func apply(to base: SpQRConfig) throws -> SpQRConfig {
        var c = base
        if let v = wbits { c.wbits = v }
        if let v = groupsize { c.groupsize = try Self.optionalInt(v, flag: "groupsize") }
        if perchannel && noPerchannel { throw ValidationError("--perchannel and --no-perchannel contradict each other") }
        if perchannel { c.perchannel = true }
        if noPerchannel { c.perchannel = false }
        if sym { c.sym = true }
        if let v = qqScaleBits { c.qqScaleBits = try Self.optionalInt(v, flag: "qq_scale_bits") }
        if let v = qqZeroBits { c.qqZeroBits = try Self.optionalInt(v, flag: "qq_zero_bits") }
        if qqZeroSym { c.qqZeroSym = true }
        if let v = qqGroupsize { c.qqGroupsize = v }
        if let v = roundZero {
            switch v.lowercased() {
            case "1", "true", "yes": c.roundZero = true
            case "0", "false", "no", "none": c.roundZero = false
            default: throw ValidationError("--round_zero takes 1 or 0, got '\(v)'")
            }
        }
        if let v = outlierThreshold {
            switch v.lowercased() {
            case "inf", "off", "none": c.outlierThreshold = .infinity
            default:
                guard let d = Double(v) else { throw ValidationError("--outlier_threshold takes a number or 'inf', got '\(v)'") }
                c.outlierThreshold = d
            }
        }
        if let v = permutationOrder {
            guard let o = PermutationOrder(rawValue: v) ?? (v == "act-order" ? .actOrder : nil) else {
                throw ValidationError("--permutation_order takes identity, act_order or spearman, got '\(v)'")
            }
            c.permutationOrder = o
        }
        if let v = percdamp { c.percdamp = v }
        if let v = blocksize { c.blocksize = v }
        if simplifiedOutliers { c.simplifiedOutliers = true }
        return c
    }

    static func optionalInt(_ s: String, flag: String) throws -> Int? {
        if ["none", "null", "off"].contains(s.lowercased()) { return nil }
        guard let v = Int(s) else { throw ValidationError("--\(flag) takes a whole number or 'none', got '\(s)'") }
        return v
    }
}
