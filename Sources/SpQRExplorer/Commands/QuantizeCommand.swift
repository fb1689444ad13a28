// spqr-explorer quantize: one layer, the full figures and baselines as a table or JSON. The table prints
// the SpQR figures as soon as the full layer is done and the baselines when they are; stderr ends with
// where the time went (loading, each measurement phase, writing, the whole process).

import ArgumentParser
import Foundation
import SpQRCore

struct QuantizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize",
        abstract: "Quantize one layer with SpQR and print its figures and baselines.",
        discussion: """
            Examples:
              spqr-explorer quantize model.safetensors --layer model.layers.0.self_attn.q_proj.weight --hessian h.safetensors
              spqr-explorer quantize --weights w.safetensors --tensor W --hessian w.safetensors --hessian-tensor H \\
                  --wbits 4 --groupsize 16 --perchannel --qq_scale_bits 3 --qq_zero_bits 3 --qq_groupsize 16 \\
                  --outlier_threshold=0.2 --permutation_order act_order --percdamp 1e0 --json
              spqr-explorer quantize model.safetensors --layer NAME --recipe recipe.json --maps maps.safetensors
              spqr-explorer quantize model.safetensors --layer NAME --wbits 4 --write-recipe recipe.json
            Settings left out take the defaults (the SpQR README 3-bit recipe), or the recipe's settings for
            the layer with --recipe; flags given override them. Without a calibration option the Hessian is
            the identity (data-free), and the output says so.
            """)

    @OptionGroup var checkpoint: CheckpointOptions

    @Option(name: [.customLong("layer"), .customLong("tensor")], help: "Name of the weight tensor [out, in].")
    var layer: String

    @OptionGroup var calibration: CalibrationOptions
    @OptionGroup var settings: SettingsOptions

    @Option(help: "Take the settings of the layer (defaults plus its overrides) from this recipe.")
    var recipe: String?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(
        help: "Write the dequantized weights (Q, F32) and the outlier mask (outliers, U8) to this safetensors file.")
    var save: String?

    @Option(
        help: "Write the sensitivity, error-contribution and outlier maps (F32/U8 [out, in]) to this safetensors file.")
    var maps: String?

    @Option(name: [.customLong("write-recipe")], help: "Write a recipe with these settings and figures for this layer.")
    var writeRecipe: String?

    @Flag(help: "Allow --write-recipe, --save and --maps to replace existing files.")
    var force = false

    @Flag(
        name: [.customLong("no-baselines")],
        help:
            "Skip the round-to-nearest and GPTQ-without-outliers baselines (at the same settings and within SpQR's bits)."
    )
    var noBaselines = false

    func run() throws {
        _ = Self.processStart
        var base = SpQRConfig()
        var recipeDefaults: SpQRConfig?
        if let recipe {
            let r = try Recipe.read(path: recipe)
            base = try r.config(for: layer)
            recipeDefaults = r.defaults
        }
        let config = try settings.apply(to: base)
        try config.validate()
        for path in [save, maps, writeRecipe].compactMap({ $0 })
        where !force && FileManager.default.fileExists(atPath: path) {
            throw SpQRError(.io, "\(path) already exists; pass --force to replace it")
        }
        // On a terminal, stderr shows the phase and the share of the GPTQ loop done.
        var clock = PhaseClock()
        let progress = StderrProgress("quantize")
        progress.phase("loading \(layer)")
        let input = try LoadedLayer(checkpoint: checkpoint.resolved, layer: layer, calibration: calibration)
        let loadingSeconds = clock.lap()
        // The table's SpQR figures are printed as soon as the full layer is done; the baselines follow.
        var printedFigures = false
        let measured = try input.measurement.measure(
            config, steps: noBaselines ? [.fullLayer] : [.fullLayer, .baselines, .equalBitBaselines],
            progress: { progress.show($0, $1) },
            partial: { first in
                guard !json, !printedFigures else { return }
                progress.finish()
                print(ReportFormat.figures(layerReport(first, input), calibration: input.source.kind))
                fflush(nil)
                printedFigures = true
            })
        progress.finish()
        let result = measured.result
        let report = layerReport(measured, input)
        let shape = [input.weights.rows, input.weights.cols]
        if let save {
            try SafetensorsWriter.write(
                [
                    .f32("Q", shape: shape, result.dequantized.values),
                    .u8("outliers", shape: shape, result.outlierMask),
                ], metadata: ["layer": input.entry.name, "format": "spqr-explorer dequantized layer"], to: save)
        }
        if let maps {
            try SafetensorsWriter.write(
                [
                    .f32("sensitivity", shape: shape, result.sensitivity),
                    .f32("error_contribution", shape: shape, result.errorContribution),
                    .u8("outliers", shape: shape, result.outlierMask),
                ],
                metadata: [
                    "layer": input.entry.name, "format": "spqr-explorer maps",
                    "config": String(decoding: try JSONEncoder().encode(config), as: UTF8.self),
                ], to: maps)
        }
        if let writeRecipe {
            let (model, calibration) = try input.recipeInputs()
            let r = Recipe.make(
                model: model, calibration: calibration, defaults: recipeDefaults ?? config,
                configs: [input.entry.name: config], shapes: [input.entry.name: shape],
                reports: [input.entry.name: report])
            try r.write(to: writeRecipe, overwrite: force)
        }
        let writingSeconds = clock.lap()
        if json {
            print(try ReportFormat.json(report))
        } else if printedFigures {
            print("\n" + ReportFormat.baselines(report))
        } else {
            print(ReportFormat.table(report, calibration: input.source.kind))
        }
        printNotes(input.notes(config) + [timeNote(measured, loading: loadingSeconds, writing: writingSeconds)])
    }

    /// The report of a measurement with the seconds a user waits for the figures and the source's note.
    func layerReport(_ m: SpQRCore.Measurement, _ input: LoadedLayer) -> LayerReport {
        var r = m.report
        r.seconds = m.seconds
        r.sourceNote = input.entry.note
        return r
    }

    /// Where the process's time went, phase by phase.
    func timeNote(_ m: SpQRCore.Measurement, loading: Double, writing: Double) -> String {
        var parts = ["loading W and H \(ReportFormat.fmt(loading, 2)) s"]
        let phases: [MeasurementPhase] = [.factorising, .preview, .fullLayer, .baselines, .equalBitBaselines]
        for phase in phases {
            if let s = m.phaseSeconds[phase] { parts.append("\(phase.rawValue) \(ReportFormat.fmt(s, 2)) s") }
        }
        if save != nil || maps != nil || writeRecipe != nil {
            parts.append("writing \(ReportFormat.fmt(writing, 2)) s")
        }
        let total = ProcessInfo.processInfo.systemUptime - Self.processStart
        return "time: " + parts.joined(separator: ", ") + "; whole process \(ReportFormat.fmt(total, 2)) s"
    }

    /// When the process started (the first use of the command type), for the whole-process time.
    static let processStart = ProcessInfo.processInfo.systemUptime
}
