// Every setting through every path it travels: command-line text → SpQRConfig → recipe JSON → SpQRConfig →
// reference command (read back as a command line) and CSV text, with the edge values where the paths used
// to disagree.

import Foundation
import Testing

@testable import SpQRCore
@testable import SpQRExplorer

@Suite("Settings on every path")
struct SettingsPathsTests {
    static func parse(_ arguments: [String], base: SpQRConfig = SpQRConfig()) throws -> SpQRConfig {
        try SettingsOptions.parse(arguments).apply(to: base)
    }

    /// What `main.py` uses for a flag left out (reference `main.py` defaults; wbits is always written).
    static var mainPyDefaults: SpQRConfig {
        var c = SpQRConfig()
        c.groupsize = nil
        c.perchannel = false
        c.qqScaleBits = nil
        c.qqZeroBits = nil
        c.outlierThreshold = .infinity
        c.permutationOrder = .identity
        c.percdamp = 0.01
        return c
    }

    @Test("every setting is accepted on the command line in both spellings, as --NAME VALUE and --NAME=VALUE")
    func bothSpellings() throws {
        for s in Setting.all {
            if case .flag = s.domain {
                for name in s.commandLineNames {
                    var off = SpQRConfig()
                    try s.set(.boolean(false), in: &off)
                    #expect(s.value(in: try Self.parse(["--\(name)"], base: off)) == .boolean(true), "--\(name)")
                }
                if s.negationHelp != nil {
                    for name in s.negatedCommandLineNames {
                        #expect(s.value(in: try Self.parse(["--\(name)"])) == .boolean(false), "--\(name)")
                    }
                }
                continue
            }
            let value = (s.steps + [.integer(64)]).first { $0 != s.value(in: SpQRConfig()) }!
            let text = s.text(of: value)
            #expect(s.commandLineNames.count == (s.name.contains("_") ? 2 : 1))
            for name in s.commandLineNames {
                #expect(s.value(in: try Self.parse(["--\(name)", text])) == value, "--\(name) \(text)")
                #expect(s.value(in: try Self.parse(["--\(name)=\(text)"])) == value, "--\(name)=\(text)")
            }
        }
    }

    /// Settings given on the command line, with the edge values of every kind.
    static let cases: [[String]] = {
        var cases: [[String]] = [
            ["--groupsize", "24"], ["--groupsize", "none"], ["--groupsize", "None"], ["--groupsize", "1"],
            ["--outlier_threshold", "off"], ["--outlier_threshold", "none"], ["--outlier-threshold", "inf"],
            ["--outlier_threshold=0.2"], ["--outlier_threshold", "0"], ["--outlier_threshold", "0.1234567"],
            ["--qq_scale_bits", "none"], ["--qq-zero-bits", "none"], ["--qq_scale_bits", "16"],
            ["--round_zero", "1"], ["--round-zero", "0"], ["--round_zero", "none"],
            ["--round_zero", "1", "--qq_zero_bits", "2"],
            ["--permutation_order", "identity"], ["--permutation_order", "act-order"],
            ["--permutation-order", "spearman"],
            ["--percdamp", "1e-2"], ["--percdamp", "0"], ["--wbits", "1"], ["--qq_groupsize", "7"],
            ["--blocksize", "64"],
            ["--no-perchannel", "--simplified_outliers"], ["--no_perchannel", "--outlier_threshold", "inf"],
            ["--sym", "--qq_zero_sym"],
        ]
        for s in Setting.all where !s.steps.isEmpty {
            if case .flag = s.domain { continue }
            cases += s.steps.map { ["--\(s.name)", s.text(of: $0)] }
        }
        return cases
    }()

    @Test("command line, recipe JSON, reference command and CSV text agree", arguments: cases)
    func everyPath(_ arguments: [String]) throws {
        let c = try Self.parse(arguments)
        try c.validate()
        // The one parse: what the command line set is what the setting's parse reads.
        if arguments.count == 2, !arguments[1].hasPrefix("--"),
            let s = Setting.all.first(where: { s in s.commandLineNames.contains { "--\($0)" == arguments[0] } })
        {
            #expect(s.value(in: c) == (try s.parse(arguments[1])))
        }
        // Recipe JSON: as the defaults, and as one layer's overrides.
        let model = Recipe.Model(path: "m.safetensors", files: [])
        let calibration = Recipe.Calibration(kind: .none, file: nil, sha256: nil, nSequences: nil, label: "none")
        let recipe = Recipe.make(
            model: model, calibration: calibration, defaults: c, configs: ["a": SpQRConfig(), "b": c],
            shapes: ["a": [8, 8], "b": [8, 8]], reports: [:])
        let back = try Recipe.decode(try recipe.encoded())
        #expect(back == recipe)
        #expect(back.defaults == c)
        #expect(try back.config(for: "b") == c)
        #expect(try back.config(for: "a") == SpQRConfig())
        let json = try #require(try JSONSerialization.jsonObject(with: try recipe.encoded()) as? [String: Any])
        let defaults = try #require(json["defaults"] as? [String: Any])
        for s in Setting.all {
            if case .number(let d) = s.value(in: c), d.isInfinite { #expect(defaults[s.name] as? String == "inf") }
            if s.value(in: c) == SettingValue.none { #expect(defaults[s.name] is NSNull) }
        }
        // SpQRConfig's own Codable form.
        #expect(try JSONDecoder().decode(SpQRConfig.self, from: JSONEncoder().encode(c)) == c)
        // The reference command, pasted back as a command line over main.py's defaults.
        let reference = ReferenceCommand.flags(c, nsamples: 128)
        var pasted = try Self.parse(reference, base: Self.mainPyDefaults)
        #expect(pasted.blocksize == 128)
        pasted.blocksize = c.blocksize
        #expect(pasted == c, "\(reference)")
        #expect(
            ReferenceCommand.make(back).unsupported.count == (c.blocksize == 128 ? 0 : 1) + (c == SpQRConfig() ? 0 : 1))
        // The CSV text of every setting reads back.
        for s in Setting.all { #expect(try s.parse(s.text(of: s.value(in: c))) == s.value(in: c), "\(s.name)") }
    }

    @Test("the sweep's CSV has a column per setting whose text reads back as the run's configuration")
    func sweepColumns() throws {
        var c = try Self.parse([
            "--groupsize", "24", "--outlier_threshold", "off", "--qq_scale_bits", "none", "--round_zero", "1",
        ])
        c.blocksize = 64
        let point = SweepCommand.Point(
            config: c, avgBits: 3.5, storageBits: 10, storageBitsPerWeight: 3.6, nOutliers: 0, outlierFraction: 0,
            relWeightError: 0.1, relProxyError: 0.01, sensitivityConcentration: 0.2, pareto: true)
        let lines = SweepCommand.csv([point]).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        #expect(lines.count == 2 && lines[0].count == lines[1].count)
        #expect(Array(lines[0].prefix(Setting.all.count)) == Setting.all.map(\.name))
        var back = SpQRConfig()
        for (s, text) in zip(Setting.all, lines[1]) { try s.set(s.parse(text), in: &back) }
        #expect(back == c)
        #expect(Array(lines[1][9...10]) == ["inf", "act_order"])
    }

    @Test("lists give every combination; bad values name the flag")
    func lists() throws {
        let configs = try SettingsOptions.parse(["--groupsize", "24,none", "--outlier_threshold", "0.2, off"])
            .combinations(base: SpQRConfig())
        #expect(configs.map(\.groupsize) == [24, 24, nil, nil])
        #expect(configs.map(\.outlierThreshold) == [0.2, .infinity, 0.2, .infinity])
        #expect(throws: (any Error).self) {
            try SettingsOptions.parse(["--groupsize", "8,,16"]).combinations(base: SpQRConfig())
        }
        #expect(throws: (any Error).self) {
            try SettingsOptions.parse(["--perchannel", "--no-perchannel"]).apply(to: SpQRConfig())
        }
    }

    @Test("--nsamples counts calibration windows (128 by default) and sensitivity windows (4 by default)")
    func windowCounts() throws {
        let defaults = try SettingsOptions.parse([])
        #expect(defaults.calibrationWindows == 128 && defaults.sensitivityWindows == 4)
        let given = try SettingsOptions.parse(["--nsamples", "7"])
        #expect(given.calibrationWindows == 7 && given.sensitivityWindows == 7)
        #expect(
            SettingsOptions.helpMessage().contains("default 128") && SettingsOptions.helpMessage().contains("default 4")
        )
    }

    @Test(
        "quantize --groupsize 24 --outlier_threshold off writes a recipe that validates and gives the reference command"
    )
    func groupsize24() throws {
        let dir = try HeadlessCommandsTests.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = dir.appendingPathComponent("r.json").path
        let q = try BinaryRunner.run(
            [
                "quantize", HeadlessCommandsTests.file, "--layer", "W", "--groupsize", "24", "--outlier_threshold",
                "off",
                "--no-baselines", "--write-recipe", recipe,
            ] + HeadlessCommandsTests.calibration)
        #expect(q.status == 0, "\(q.stderr)")
        let validate = try BinaryRunner.run(["recipe", "validate", recipe])
        #expect(validate.status == 0, "\(validate.stdout)\(validate.stderr)")
        let root = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: recipe))) as? [String: Any])
        let defaults = try #require(root["defaults"] as? [String: Any])
        #expect(defaults["groupsize"] as? Int == 24 && defaults["outlier_threshold"] as? String == "inf")
        let command = try BinaryRunner.run(["recipe", "command", recipe])
        #expect(
            command.stdout.contains("--groupsize 24 --perchannel") && !command.stdout.contains("outlier_threshold"),
            "\(command.stdout)")
    }
}
