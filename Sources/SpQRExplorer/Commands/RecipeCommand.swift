// spqr-explorer recipe validate | apply | command.

import ArgumentParser
import Foundation
import SpQRCore

struct RecipeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipe",
        abstract: "Check a recipe, re-measure it on a model, or print the equivalent reference command.",
        subcommands: [Validate.self, Apply.self, Command.self])

    struct Validate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a recipe against the format (version, fields, ranges).",
            discussion: "Example:\n  spqr-explorer recipe validate recipe.json")

        @Argument(help: "Recipe file.")
        var file: String

        func run() throws {
            let r = try Recipe.read(path: file)
            print(
                "\(file): valid \(Recipe.formatName) version \(Recipe.formatVersion), \(r.layers.count) layer(s), defaults wbits \(r.defaults.wbits)"
            )
        }
    }

    struct Apply: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Re-measure every layer of a recipe on a checkpoint and report differences from the recorded figures.",
            discussion: """
                Example:
                  spqr-explorer recipe apply recipe.json model.safetensors --hessian h.safetensors
                  spqr-explorer recipe apply recipe.json
                Without a checkpoint the recipe's model path is used. Without a calibration
                option the recipe's own calibration file is used (its hash is checked). Exits
                1 when a figure differs by more than the tolerance (relative, default 1e-6).
                """)

        @Argument(help: "Recipe file.")
        var file: String

        @Argument(help: "Checkpoint to measure on (default: the recipe's model path).")
        var path: String?

        @OptionGroup var calibration: CalibrationOptions

        @Option(help: "Largest relative difference accepted for each figure.")
        var tolerance = 1e-6

        @Flag(help: "Print JSON instead of text.")
        var json = false

        struct Difference: Encodable {
            var layer: String
            var figure: String
            var recorded: Double
            var measured: Double
        }

        func run() throws {
            let recipe = try Recipe.read(path: file)
            if path == nil && !FileManager.default.fileExists(atPath: recipe.model.path) {
                throw SpQRError(
                    .io,
                    "\(file): its model \(recipe.model.path) does not exist (the path is as it was given when the recipe "
                        + "was written); pass the checkpoint after the recipe")
            }
            let checkpoint = try ModelFiles.openCheckpoint(path ?? recipe.model.path)
            try recipe.checkLayers(against: checkpoint)
            var options = calibration
            if options.hessian == nil && options.activations == nil && options.imatrix == nil,
                let f = recipe.calibration.file
            {
                if let expected = recipe.calibration.sha256, try Self.digest(f) != expected {
                    throw SpQRError(
                        .fileFormat,
                        "\(f): its SHA-256 differs from the recipe's calibration.sha256; pass the calibration explicitly"
                    )
                }
                if recipe.calibration.kind == .imatrix {
                    options.imatrix = f
                } else if recipe.calibration.kind == .activations {
                    options.activations = f
                    options.activationsTensor = recipe.calibration.tensor
                } else {
                    options.hessian = f
                    options.hessianTensor = recipe.calibration.tensor
                }
            }
            let source = try options.source()
            var differences: [Difference] = []
            var measured: [String: LayerReport] = [:]
            let progress = StderrProgress("apply")
            defer { progress.finish() }
            let names = recipe.layers.keys.sorted()
            for (i, name) in names.enumerated() {
                progress.step(i + 1, of: names.count, name)
                let config = try recipe.config(for: name)
                let layer = try LayerMeasurement(checkpoint: checkpoint, layer: name, calibration: source)
                let recorded = recipe.layers[name]!.figures
                let report = try layer.measure(
                    config, steps: recorded?.rtn != nil ? [.fullLayer, .baselines] : [.fullLayer]
                ).report
                measured[name] = report
                guard let recorded else { continue }
                let pairs: [(String, Double, Double)] =
                    [
                        ("n_outliers", Double(recorded.nOutliers), Double(report.nOutliers)),
                        ("avg_bits", recorded.avgBits, report.avgBits),
                        ("storage_bits", Double(recorded.storageBits), Double(report.storageBits)),
                        ("rel_weight_error", recorded.relWeightError, report.relWeightError),
                        ("rel_proxy_error", recorded.relProxyError, report.relProxyError),
                        (
                            "sensitivity_concentration", recorded.sensitivityConcentration,
                            report.sensitivityConcentration
                        ),
                    ] + zipBaselines(recorded, report)
                for (figure, a, b) in pairs where abs(a - b) > tolerance * max(abs(a), abs(b), 1e-300) {
                    differences.append(Difference(layer: name, figure: figure, recorded: a, measured: b))
                }
            }
            if json {
                struct Out: Encodable {
                    var layers: Int
                    var differences: [Difference]
                }
                print(try ReportFormat.json(Out(layers: recipe.layers.count, differences: differences)))
            } else {
                print(
                    "\(recipe.layers.count) layer(s) measured; \(differences.count) figure(s) differ by more than \(tolerance) relative"
                )
                for d in differences {
                    print("  \(d.layer) \(d.figure): recorded \(d.recorded), measured \(d.measured)")
                }
            }
            if !differences.isEmpty { throw ExitCode(1) }
        }

        static func digest(_ file: String) throws -> String {
            let (handler, progress) = hashingProgress("of calibration file to check it against the recipe")
            defer { progress.finish() }
            return try FileDigests().digests(of: [file], progress: handler)[0]
        }

        func zipBaselines(_ a: LayerReport, _ b: LayerReport) -> [(String, Double, Double)] {
            var out: [(String, Double, Double)] = []
            if let x = a.rtn, let y = b.rtn {
                out += [
                    ("rtn.rel_proxy_error", x.relProxyError, y.relProxyError),
                    ("rtn.rel_weight_error", x.relWeightError, y.relWeightError),
                ]
            }
            if let x = a.gptq, let y = b.gptq {
                out += [
                    ("gptq.rel_proxy_error", x.relProxyError, y.relProxyError),
                    ("gptq.rel_weight_error", x.relWeightError, y.relWeightError),
                ]
            }
            return out
        }
    }

    struct Command: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the equivalent reference main.py command and what it cannot express.",
            discussion: "Example:\n  spqr-explorer recipe command recipe.json")

        @Argument(help: "Recipe file.")
        var file: String

        func run() throws {
            let (command, unsupported) = ReferenceCommand.make(try Recipe.read(path: file))
            print(command)
            for u in unsupported { FileHandle.standardError.write(Data("not expressible: \(u)\n".utf8)) }
        }
    }
}
