// spqr-explorer render: one layer's heatmap in one mode, quantized at the given settings, written as a
// PNG picture (Picture/HeatmapPicture.swift) — what `P` writes in the explorer, headless.

import ArgumentParser
import Foundation
import SpQRCore

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Quantize one layer and write its heatmap in one mode as a PNG picture.",
        discussion: """
            Examples:
              spqr-explorer render model.safetensors --layer model.layers.0.self_attn.o_proj.weight \\
                  --mode outliers --hessian h.safetensors --out o_proj.outliers.png
              spqr-explorer render model.gguf --layer q_proj --mode sensitivity --pooling max --wbits 4 --out q.png
            Modes: weight, sensitivity, outliers, error, delta (or 1–5, the explorer's keys). Poolings: mean, max,
            rms for weight, sensitivity and error; density, max for outliers; mean, rms, max for delta (the
            first is the default). The picture has one pixel per weight up to 4096 a side, the layer's name,
            the mode and the region above it and the legend below.
            """)

    @OptionGroup var checkpoint: CheckpointOptions

    @Option(
        name: [.customLong("layer"), .customLong("tensor")],
        help: "The weight tensor [out, in] (its name or a unique part of it).")
    var layer: String

    @Option(help: "The heatmap: weight, sensitivity, outliers, error or delta (or 1–5).")
    var mode = "sensitivity"

    @Option(help: "How the weights under a pixel combine: mean, max, rms or density (default: the mode's first).")
    var pooling: String?

    @Flag(name: [.customLong("gptq-order")], help: "Show the columns in the order GPTQ processed them (act_order).")
    var gptqOrder = false

    @OptionGroup var calibration: CalibrationOptions
    @OptionGroup var settings: SettingsOptions

    @Option(help: "Take the settings of the layer (defaults plus its overrides) from this recipe.")
    var recipe: String?

    @Option(help: "The PNG file to write.")
    var out: String

    @Flag(help: "Replace --out when it exists.")
    var force = false

    /// The mode named `text` (its name as the explorer's title gives it, a short name, or its key 1–5).
    static func mode(_ text: String) throws -> HeatmapMode {
        let names: [String: HeatmapMode] = [
            "weight": .weight, "sensitivity": .sensitivity, "outliers": .outliers, "error": .error, "delta": .delta,
        ]
        if let m = names[text.lowercased()] ?? Int(text).flatMap(HeatmapMode.init(rawValue:)) { return m }
        throw SpQRError(
            .invalidSetting, "--mode \(text): expected one of weight, sensitivity, outliers, error, delta (or 1–5)")
    }

    static func pooling(_ text: String?, _ mode: HeatmapMode) throws -> Pooling {
        let choices = Pooling.choices(mode)
        guard let text else { return choices[0] }
        if let p = choices.first(where: { $0.rawValue.lowercased() == text.lowercased() }) { return p }
        throw SpQRError(
            .invalidSetting,
            "--pooling \(text): the \(mode.title) map pools by \(choices.map { $0.rawValue.lowercased() }.joined(separator: ", "))"
        )
    }

    func run() throws {
        let mode = try Self.mode(self.mode)
        let pooling = try Self.pooling(self.pooling, mode)
        if !force && FileManager.default.fileExists(atPath: out) {
            throw SpQRError(.io, "\(out) already exists; pass --force to replace it")
        }
        let path = checkpoint.resolved
        let name = try RenderBench.entry(try ModelFiles.openCheckpoint(path), layer).name
        var base = SpQRConfig()
        if let recipe { base = try Recipe.read(path: recipe).config(for: name) }
        let config = try settings.apply(to: base)
        try config.validate()
        let progress = StderrProgress("render")
        progress.phase("loading \(name)")
        let input = try LoadedLayer(checkpoint: path, layer: name, calibration: calibration)
        let measured = try input.measurement.measure(
            config, steps: [.fullLayer], progress: { progress.show($0, $1) })
        progress.finish()
        var maps = HeatmapMaps(result: measured.result, weights: input.weights)
        if gptqOrder { maps = maps.inProcessingOrder() }
        let picture = HeatmapPicture(
            HeatmapPicture.Request(
                maps: maps, layer: name, mode: mode, pooling: pooling, rows: 0..<maps.rows, cols: 0..<maps.cols,
                wholeLayerRange: false))
        try PNGFile.write(picture.image, to: out)
        print(
            "\(out): \(picture.image.width)×\(picture.image.height) pixels, heatmap \(picture.colRanges.count)×\(picture.rowRanges.count) (\(maps.cols)×\(maps.rows) weights, \(picture.enlargement)× enlarged), \(picture.view.scale.describe(pooling: pooling, wholeLayer: false))"
        )
        printNotes(input.notes(config))
    }
}
