// spqr-explorer [explore] [PATH]: the interactive explorer (the default command).

import ArgumentParser
import Foundation
import SpQRCore

struct ExploreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "explore",
        abstract: "Open a checkpoint in the interactive explorer (the default command).",
        discussion: """
            Examples:
              spqr-explorer                                   # the bundled sample, with its Hessians
              spqr-explorer model.safetensors --hessians h.safetensors
              spqr-explorer models/llama-7b/ --imatrix llama.imatrix
              spqr-explorer model.Q8_0.gguf                   # data-free (H = I), flagged on screen
            Press ? in the explorer for the keys.
            """)

    @Argument(
        help: "Checkpoint: a safetensors file, a directory of shards, or a GGUF file (default: the bundled sample).")
    var path: String?

    @OptionGroup var calibration: CalibrationOptions
    @OptionGroup var settings: SettingsOptions

    @Option(help: "Restore the settings of a recipe at start.")
    var recipe: String?

    @Option(
        help:
            "UTF-8 text the model screen (M) measures each layer's sensitivity on, so it allocates by predicted KL (a whole model with its tokenizer)."
    )
    var text: String?

    @OptionGroup var window: WindowOptions

    @Flag(
        name: [.customLong("bench-render")],
        help:
            "Render one full frame (--size, default 200x60) of a layer (--layer, default the first) repeatedly and print the time per frame."
    )
    var benchRender = false

    @Flag(
        name: [.customLong("bench-keys")],
        help:
            "Press every layer-view key on a layer (--layer) at --size with the background work running, and print the time from each key to its frame."
    )
    var benchKeys = false

    @Flag(
        help: "Print the colour entropy (bits) of the heatmap of a layer (--layer) in each mode at --size, then exit.")
    var entropy = false

    @Option(help: "With --bench-render, --bench-keys or --entropy: the layer (its name or a unique part of it).")
    var layer: String?

    @Option(help: "With --bench-render, --bench-keys or --entropy: the frame size as WIDTHxHEIGHT.")
    var size = "200x60"

    func run() throws {
        var calibrationOptions = calibration
        let checkpointPath: String
        if let path {
            checkpointPath = path
        } else {
            let bundle = try SampleBundle.locate()
            checkpointPath = bundle.checkpoint
            if calibration.hessian == nil && calibration.activations == nil && calibration.imatrix == nil {
                calibrationOptions.hessian = bundle.hessians
            }
        }
        let checkpoint = try ModelFiles.openCheckpoint(checkpointPath)
        let source = try calibrationOptions.source()
        var config = try settings.apply(to: SpQRConfig())
        var restored: Recipe?
        if let recipe {
            let r = try Recipe.read(path: recipe)
            try r.checkLayers(against: checkpoint)
            config = try settings.apply(to: r.defaults)
            restored = r
        }
        try config.validate()
        if benchRender || entropy || benchKeys {
            let dims = size.lowercased().split(separator: "x").compactMap { Int($0) }
            guard dims.count == 2, dims[0] >= Layout.minWidth, dims[1] >= Layout.minHeight, dims[0] <= 2000,
                dims[1] <= 1000
            else {
                throw SpQRError(
                    .invalidSetting,
                    "--size \(size): expected WIDTHxHEIGHT from \(Layout.minWidth)x\(Layout.minHeight) to 2000x1000, e.g. 160x50"
                )
            }
            if benchRender || entropy {
                let s = try RenderBench.state(
                    checkpoint: checkpoint, calibration: source, config: config, layer: layer, width: dims[0],
                    height: dims[1])
                if benchRender { RenderBench.run(s) }
                if entropy {
                    for (mode, bits) in RenderBench.entropies(s) {
                        let values = RenderBench.valueEntropy(s, mode).map {
                            String(format: "   (what the pixels hold: %.2f bits)", $0)
                        }
                        print(String(format: "%d %-22@ %.2f bits", mode.rawValue, mode.title, bits) + (values ?? ""))
                    }
                }
            }
            if benchKeys {
                // As in the explorer: views pooled in the background.
                let keys = try RenderBench.state(
                    checkpoint: checkpoint, calibration: source, config: config, layer: layer, width: dims[0],
                    height: dims[1], poolInBackground: true)
                KeyLatencyBench.run(keys, runner: EffectRunner(checkpoint: checkpoint, calibration: source))
            }
            return
        }
        // The sensitivity text is read and cut before the screen opens, so a bad one fails at once.
        let sensitivityText = try text.map { text in
            let count = settings.sensitivityWindows
            guard count >= 1 else { throw ValidationError("--nsamples must be at least 1") }
            let (input, windows) = try window.windows(ofText: text, model: checkpointPath, count: count)
            return SensitivityText(path: text, sha256: input.sha256, windows: windows)
        }
        let terminal = try NcursesTerminal()
        let state = ExplorerApp.initialState(
            checkpoint: checkpoint, calibration: source, settings: config,
            width: terminal.size.width, height: terminal.size.height, capabilities: terminal.capabilities)
        let app = ExplorerApp(
            state: state, terminal: terminal,
            runner: EffectRunner(checkpoint: checkpoint, calibration: source, sensitivityText: sensitivityText))
        if let restored { app.dispatch(.recipeLoaded(restored)) }
        app.run(crashAfterFirstFrame: ProcessInfo.processInfo.environment["SPQR_DEBUG_CRASH"] == "1")
    }
}

/// The bundled sample: `samples/default.json` found through $SPQR_SAMPLES, beside the package root of
/// the executable (`.build/<config>/spqr-explorer`), or in the working directory.
enum SampleBundle {
    static func locate() throws -> (checkpoint: String, hessians: String) {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["SPQR_SAMPLES"] { candidates.append(env) }
        let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        for _ in 0..<4 {
            candidates.append(dir.appendingPathComponent("samples").path)
            dir = dir.deletingLastPathComponent()
        }
        candidates.append(FileManager.default.currentDirectoryPath + "/samples")
        for c in candidates {
            let manifest = c + "/default.json"
            guard let data = FileManager.default.contents(atPath: manifest) else { continue }
            guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: String],
                let checkpoint = json["checkpoint"], let hessians = json["hessians"]
            else {
                throw SpQRError(.fileFormat, "\(manifest): expected {\"checkpoint\": FILE, \"hessians\": FILE}")
            }
            return (c + "/" + checkpoint, c + "/" + hessians)
        }
        throw SpQRError(
            .io,
            "no bundled sample found (looked for samples/default.json in \(candidates.joined(separator: ", "))); "
                + "open a checkpoint instead: spqr-explorer PATH [--hessians FILE]")
    }
}

/// Headless renderings of the layer screen: the time per frame, and the colour entropy of each heatmap mode.
enum RenderBench {
    /// The layer screen of `layer` (a name or a unique part of one; nil: the first quantizable layer),
    /// fully quantized, at width × height with full colour (its views pooled in the background when
    /// `poolInBackground`, as in the explorer).
    static func state(
        checkpoint: any Checkpoint, calibration: any CalibrationSource, config: SpQRConfig, layer name: String?,
        width: Int, height: Int, poolInBackground: Bool = false
    ) throws -> AppState {
        let entry = try entry(checkpoint, name)
        let layer = try LayerMeasurement(checkpoint: checkpoint, layer: entry.name, calibration: calibration)
        let measured = try layer.measure(config, steps: [.fullLayer])
        let r = measured.result
        let w = layer.weights
        var s = ExplorerApp.initialState(
            checkpoint: checkpoint, calibration: calibration, settings: config, width: width, height: height,
            capabilities: .full)
        guard let row = s.rows.first(where: { $0.name == entry.name }) else {
            throw SpQRError(.unsupported, "\(entry.name) is not in the layer list")
        }
        _ = Reducer.open(&s, row)
        _ = Reducer.reduce(
            &s,
            .result(
                generation: s.generation, layer: entry.name, result: r, report: measured.report,
                maps: HeatmapMaps(result: r, weights: w, poolInBackground: poolInBackground)))
        return s
    }

    /// The quantizable layer named `name` or the only one whose name contains it (nil: the first).
    static func entry(_ checkpoint: any Checkpoint, _ name: String?) throws -> TensorEntry {
        let quantizable = checkpoint.tensors.filter(\.isQuantizable)
        let entry: TensorEntry
        if let name {
            let hits = quantizable.filter { $0.name == name || $0.name.contains(name) }
            guard let hit = hits.first(where: { $0.name == name }) ?? (hits.count == 1 ? hits.first : nil) else {
                throw SpQRError(
                    .invalidSetting,
                    "--layer \(name): \(hits.isEmpty ? "no quantizable layer matches" : "matches \(hits.count) layers (\(hits.prefix(4).map(\.name).joined(separator: ", "))…)"); "
                        + "give a longer part of the name (spqr-explorer layers lists them)")
            }
            entry = hit
        } else {
            guard let first = quantizable.first else { throw SpQRError(.unsupported, "no quantizable layer") }
            entry = first
        }
        return entry
    }

    /// Times the rendering of a full frame (the heatmap of the layer at width × height).
    static func run(_ s: AppState) {
        let frames = 50
        // The first frame pools the viewport's weights; the others read the pooled view kept for it.
        let first = DispatchTime.now().uptimeNanoseconds
        _ = Renderer.render(s)
        let firstMs = Double(DispatchTime.now().uptimeNanoseconds - first) / 1e6
        let start = DispatchTime.now().uptimeNanoseconds
        var cells = 0
        for _ in 0..<frames { cells += Renderer.render(s).cells.count }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(frames)
        let shape = s.layer?.row.shape.map(String.init).joined(separator: "x") ?? "?"
        print(
            String(
                format:
                    "render %dx%d (%@ %@): first frame (pools the view) %.2f ms, then %.2f ms per frame over %d frames",
                s.width, s.height, s.layer?.name ?? "?", shape, firstMs, ms, frames))
    }

    /// The entropy in bits of what the pixels of `mode`'s heatmap hold, each distinct value a symbol: the
    /// pooled values, or for the outlier map the number of outliers under each pixel (its density's
    /// numerator; pixels differ by a row or column of weights, which makes equal counts unequal
    /// densities). A map whose pixels mostly hold no outlier carries little, however it is coloured.
    static func valueEntropy(_ s: AppState, _ mode: HeatmapMode) -> Double? {
        guard let maps = s.layer?.maps, let g = Reducer.geometry(s) else { return nil }
        let pooling = s.poolings[mode] ?? Pooling.choices(mode)[0]
        let values = mode == .outliers ? PooledGrid(maps, mode, g).sum : maps.view(mode, pooling, g).values
        var counts: [Float: Int] = [:]
        for v in values { counts[v, default: 0] += 1 }
        return HeatmapEntropy.entropy(counts.values)
    }

    /// The colour entropy of the heatmap in each mode, in bits.
    static func entropies(_ s: AppState) -> [(mode: HeatmapMode, bits: Double)] {
        HeatmapMode.allCases.map { mode in
            var t = s
            t.mode = mode
            return (
                mode,
                HeatmapEntropy.colourEntropy(Renderer.render(t), area: Layout(width: s.width, height: s.height).heatmap)
            )
        }
    }
}
