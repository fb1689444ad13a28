// The SpQR settings on the command line. Names, help and value parsing come from the setting descriptions
// (`Setting` in SpQRCore): each flag takes the reference `main.py` spelling (--qq_scale_bits) and
// kebab-case (--qq-scale-bits), so a reference command line can be pasted. ArgumentParser needs one
// property per flag; `valued` and `flags` tie each property to its setting, and a test checks that every
// setting has one. `sweep` accepts comma-separated lists on the valued settings; the other commands take
// one value.

import ArgumentParser
import SpQRCore

extension Setting {
    /// The command-line spellings: the reference's snake_case and, where different, kebab-case.
    var commandLineNames: [String] {
        let kebab = name.replacingOccurrences(of: "_", with: "-")
        return kebab == name ? [name] : [name, kebab]
    }

    /// The spellings of the flag that turns an on/off setting off (`--no-perchannel`), if it has one.
    var negatedCommandLineNames: [String] { ["no-" + name.replacingOccurrences(of: "_", with: "-"), "no_" + name] }

    /// The help of the flag that turns the setting off, if it has one.
    var negationHelp: String? {
        if case .flag(let negation) = domain { return negation }
        return nil
    }
}

extension NameSpecification {
    /// The long names of `setting`, or of its negation.
    static func setting(_ setting: Setting, negated: Bool = false) -> NameSpecification {
        NameSpecification(
            (negated ? setting.negatedCommandLineNames : setting.commandLineNames).map { .customLong($0) })
    }
}

extension ArgumentHelp {
    /// The help of `setting`, or of its negation.
    static func setting(_ setting: Setting, negated: Bool = false) -> ArgumentHelp {
        ArgumentHelp(negated ? (setting.negationHelp ?? "") + "." : setting.commandLineHelp)
    }
}

struct SettingsOptions: ParsableArguments {
    @Option(name: .setting(.wbits), help: .setting(.wbits)) var wbits: String?
    @Option(name: .setting(.groupsize), help: .setting(.groupsize)) var groupsize: String?
    @Flag(name: .setting(.perchannel), help: .setting(.perchannel)) var perchannel = false
    @Flag(name: .setting(.perchannel, negated: true), help: .setting(.perchannel, negated: true)) var noPerchannel =
        false
    @Flag(name: .setting(.sym), help: .setting(.sym)) var sym = false
    @Option(name: .setting(.qqScaleBits), help: .setting(.qqScaleBits)) var qqScaleBits: String?
    @Option(name: .setting(.qqZeroBits), help: .setting(.qqZeroBits)) var qqZeroBits: String?
    @Flag(name: .setting(.qqZeroSym), help: .setting(.qqZeroSym)) var qqZeroSym = false
    @Option(name: .setting(.qqGroupsize), help: .setting(.qqGroupsize)) var qqGroupsize: String?
    @Option(name: .setting(.roundZero), help: .setting(.roundZero)) var roundZero: String?
    @Option(name: .setting(.outlierThreshold), help: .setting(.outlierThreshold)) var outlierThreshold: String?
    @Option(name: .setting(.permutationOrder), help: .setting(.permutationOrder)) var permutationOrder: String?
    @Option(name: .setting(.percdamp), help: .setting(.percdamp)) var percdamp: String?
    @Option(name: .setting(.blocksize), help: .setting(.blocksize)) var blocksize: String?
    @Flag(name: .setting(.simplifiedOutliers), help: .setting(.simplifiedOutliers)) var simplifiedOutliers = false

    @Option(
        name: [.customLong("nsamples")],
        help: """
            Windows of --text to use: for calibration in quantize-model (default \(Self.defaultCalibrationWindows), \
            as the reference's --nsamples), for each layer's sensitivity in allocate and explore (default \
            \(Self.defaultSensitivityWindows)). With a Hessian file it is accepted for reference command lines: \
            the file sets the calibration size.
            """)
    var nsamples: Int?

    /// Windows of --text a whole-model quantization calibrates on when --nsamples is not given (the
    /// reference's default).
    static let defaultCalibrationWindows = 128
    /// Windows of --text each layer's sensitivity is measured on when --nsamples is not given.
    static let defaultSensitivityWindows = 4

    /// Windows of --text each layer's sensitivity is measured on (allocate, explore).
    var sensitivityWindows: Int { nsamples ?? Self.defaultSensitivityWindows }
    /// Calibration windows of --text (quantize-model).
    var calibrationWindows: Int { nsamples ?? Self.defaultCalibrationWindows }

    /// The valued settings with their raw text, for lists and single values alike.
    var valued: [(setting: Setting, raw: String?)] {
        [
            (.wbits, wbits), (.groupsize, groupsize), (.qqScaleBits, qqScaleBits), (.qqZeroBits, qqZeroBits),
            (.qqGroupsize, qqGroupsize), (.roundZero, roundZero), (.outlierThreshold, outlierThreshold),
            (.permutationOrder, permutationOrder), (.percdamp, percdamp), (.blocksize, blocksize),
        ]
    }

    /// The on/off settings with whether their flag was given (on) and whether their negation was (off).
    var flags: [(setting: Setting, on: Bool, off: Bool)] {
        [
            (.perchannel, perchannel, noPerchannel), (.sym, sym, false), (.qqZeroSym, qqZeroSym, false),
            (.simplifiedOutliers, simplifiedOutliers, false),
        ]
    }

    /// Applies the flags given on top of `base` (one value per setting).
    func apply(to base: SpQRConfig) throws -> SpQRConfig {
        for (setting, raw) in valued {
            if let raw, raw.contains(",") {
                throw ValidationError("--\(setting.name) takes one value here (lists are for `sweep`), got '\(raw)'")
            }
        }
        return try combinations(base: base)[0]
    }

    /// Every combination of the comma-separated values given, on top of `base`, in a stable order
    /// (the first flag varies slowest).
    func combinations(base: SpQRConfig) throws -> [SpQRConfig] {
        var single = base
        for (setting, on, off) in flags where on || off {
            if on && off {
                throw ValidationError(
                    "--\(setting.name) and --\(setting.negatedCommandLineNames[0]) contradict each other")
            }
            try setting.set(.boolean(on), in: &single)
        }
        var configs = [single]
        for (setting, raw) in valued {
            guard let raw else { continue }
            let values = raw.split(separator: ",", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard !values.contains("") else { throw ValidationError("--\(setting.name): empty value in '\(raw)'") }
            let parsed = try values.map { text in
                do { return try setting.parse(text) } catch let e as SpQRError { throw ValidationError(e.message) }
            }
            configs = try configs.flatMap { c in
                try parsed.map { value in
                    var x = c
                    try setting.set(value, in: &x)
                    return x
                }
            }
        }
        return configs
    }
}
