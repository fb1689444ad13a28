// The SpQR settings on the command line. Each flag takes the reference `main.py` spelling
// (--qq_scale_bits) and kebab-case (--qq-scale-bits), so a reference command line can be pasted.
// `sweep` accepts comma-separated lists on the valued settings; the other commands take one value.

import ArgumentParser
import SpQRCore

struct SettingsOptions: ParsableArguments {
    @Option(name: [.customLong("wbits")], help: "Bits per weight code (1-8).")
    var wbits: String?

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
    var qqGroupsize: String?

    @Option(name: [.customLong("round_zero"), .customLong("round-zero")], help: "1 to round first-level zero points (reference: --round_zero 1).")
    var roundZero: String?

    @Option(name: [.customLong("outlier_threshold"), .customLong("outlier-threshold")], help: "Relative outlier threshold (higher = fewer outliers), or 'inf'/'off'.")
    var outlierThreshold: String?

    @Option(name: [.customLong("permutation_order"), .customLong("permutation-order")], help: "identity, act_order or spearman.")
    var permutationOrder: String?

    @Option(name: [.customLong("percdamp")], help: "Relative Hessian damping (README recipe: 1e0).")
    var percdamp: String?

    @Option(name: [.customLong("blocksize")], help: "Columns per lazy GPTQ block.")
    var blocksize: String?

    @Flag(name: [.customLong("simplified_outliers"), .customLong("simplified-outliers")], help: "Skip the leave-one-out outlier pre-pass.")
    var simplifiedOutliers = false

    @Option(name: [.customLong("nsamples")], help: "Accepted for reference command lines; the calibration file sets the calibration size.")
    var nsamples: Int?

    /// The valued settings as (flag, raw text) pairs, for lists and single values alike.
    private var valued: [(String, String?)] {
        [("wbits", wbits), ("groupsize", groupsize), ("qq_scale_bits", qqScaleBits), ("qq_zero_bits", qqZeroBits),
         ("qq_groupsize", qqGroupsize), ("round_zero", roundZero), ("outlier_threshold", outlierThreshold),
         ("permutation_order", permutationOrder), ("percdamp", percdamp), ("blocksize", blocksize)]
    }

    /// Applies the flags given on top of `base` (one value per setting).
    func apply(to base: SpQRConfig) throws -> SpQRConfig {
        var c = base
        for (flag, raw) in valued {
            guard let raw else { continue }
            if raw.contains(",") { throw ValidationError("--\(flag) takes one value here (lists are for `sweep`), got '\(raw)'") }
            try Self.set(flag, raw, on: &c)
        }
        if perchannel && noPerchannel { throw ValidationError("--perchannel and --no-perchannel contradict each other") }
        if perchannel { c.perchannel = true }
        if noPerchannel { c.perchannel = false }
        if sym { c.sym = true }
        if qqZeroSym { c.qqZeroSym = true }
        if simplifiedOutliers { c.simplifiedOutliers = true }
        return c
    }

    /// Every combination of the comma-separated values given, on top of `base`, in a stable order
    /// (the first flag varies slowest).
    func combinations(base: SpQRConfig) throws -> [SpQRConfig] {
        var single = self
        for (flag, _) in valued { single.clear(flag) }
        var configs = [try single.apply(to: base)]
        for (flag, raw) in valued {
            guard let raw else { continue }
            let values = raw.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            guard !values.isEmpty, !values.contains("") else { throw ValidationError("--\(flag): empty value in '\(raw)'") }
            var next: [SpQRConfig] = []
            for c in configs {
                for v in values {
                    var x = c
                    try Self.set(flag, v, on: &x)
                    next.append(x)
                }
            }
            configs = next
        }
        return configs
    }

    private mutating func clear(_ flag: String) {
        switch flag {
        case "wbits": wbits = nil
        case "groupsize": groupsize = nil
        case "qq_scale_bits": qqScaleBits = nil
        case "qq_zero_bits": qqZeroBits = nil
        case "qq_groupsize": qqGroupsize = nil
        case "round_zero": roundZero = nil
        case "outlier_threshold": outlierThreshold = nil
        case "permutation_order": permutationOrder = nil
        case "percdamp": percdamp = nil
        default: blocksize = nil
        }
    }

    /// Parses one value of one setting.
    static func set(_ flag: String, _ v: String, on c: inout SpQRConfig) throws {
        func int() throws -> Int {
            guard let i = Int(v) else { throw ValidationError("--\(flag) takes a whole number, got '\(v)'") }
            return i
        }
        switch flag {
        case "wbits": c.wbits = try int()
        case "groupsize": c.groupsize = try optionalInt(v, flag: flag)
        case "qq_scale_bits": c.qqScaleBits = try optionalInt(v, flag: flag)
        case "qq_zero_bits": c.qqZeroBits = try optionalInt(v, flag: flag)
        case "qq_groupsize": c.qqGroupsize = try int()
        case "blocksize": c.blocksize = try int()
        case "round_zero":
            switch v.lowercased() {
            case "1", "true", "yes": c.roundZero = true
            case "0", "false", "no", "none": c.roundZero = false
            default: throw ValidationError("--round_zero takes 1 or 0, got '\(v)'")
            }
        case "outlier_threshold":
            switch v.lowercased() {
            case "inf", "off", "none": c.outlierThreshold = .infinity
            default:
                guard let d = Double(v) else { throw ValidationError("--outlier_threshold takes a number or 'inf', got '\(v)'") }
                c.outlierThreshold = d
            }
        case "permutation_order":
            guard let o = PermutationOrder(rawValue: v) ?? (v == "act-order" ? .actOrder : nil) else {
                throw ValidationError("--permutation_order takes identity, act_order or spearman, got '\(v)'")
            }
            c.permutationOrder = o
        case "percdamp":
            guard let d = Double(v) else { throw ValidationError("--percdamp takes a number, got '\(v)'") }
            c.percdamp = d
        default:
            throw ValidationError("unknown setting --\(flag)")
        }
    }

    static func optionalInt(_ s: String, flag: String) throws -> Int? {
        if ["none", "null", "off"].contains(s.lowercased()) { return nil }
        guard let v = Int(s) else { throw ValidationError("--\(flag) takes a whole number or 'none', got '\(s)'") }
        return v
    }
}
