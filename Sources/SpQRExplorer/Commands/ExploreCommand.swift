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

    @Argument(help: "Checkpoint: a safetensors file, a directory of shards, or a GGUF file (default: the bundled sample).")
    var path: String?

    @OptionGroup var calibration: CalibrationOptions
    @OptionGroup var settings: SettingsOptions

    @Option(help: "Restore the settings of a recipe at start.")
    var recipe: String?

    @Flag(name: [.customLong("bench-render")], help: "Render one full 200x60 frame of the first layer repeatedly and print the time per frame.")
    var benchRender = false

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
        if benchRender {
            try RenderBench.run(checkpoint: checkpoint, calibration: source, config: config)
            return
        }
        let terminal = try NcursesTerminal()
        let state = ExplorerApp.initialState(checkpoint: checkpoint, calibration: source, settings: config,
                                             width: terminal.size.width, height: terminal.size.height, capabilities: terminal.capabilities)
        let app = ExplorerApp(state: state, terminal: terminal, runner: EffectRunner(checkpoint: checkpoint, calibration: source))
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
                  let checkpoint = json["checkpoint"], let hessians = json["hessians"] else {
                throw SpQRError(.fileFormat, "\(manifest): expected {\"checkpoint\": FILE, \"hessians\": FILE}")
            }
            return (c + "/" + checkpoint, c + "/" + hessians)
        }
        throw SpQRError(.io, "no bundled sample found (looked for samples/default.json in \(candidates.joined(separator: ", "))); "
            + "open a checkpoint instead: spqr-explorer PATH [--hessians FILE]")
    }
}

/// Times the rendering of a full frame (the heatmap of the first quantizable layer at 200x60).
enum RenderBench {
    static func run(checkpoint: any Checkpoint, calibration: any CalibrationSource, config: SpQRConfig) throws {
        guard let entry = checkpoint.tensors.first(where: \.isQuantizable) else { throw SpQRError(.unsupported, "no quantizable layer") }
        let layer = try LayerMeasurement(checkpoint: checkpoint, layer: entry.name, calibration: calibration)
        let measured = try layer.measure(config, steps: [.fullLayer])
        let r = measured.result, w = layer.weights
        var s = ExplorerApp.initialState(checkpoint: checkpoint, calibration: calibration, settings: config, width: 200, height: 60, capabilities: .full)
        let row = s.rows.first { $0.name == entry.name }!
        _ = Reducer.open(&s, row)
        let maps = HeatmapMaps(result: r, weights: w)
        _ = Reducer.reduce(&s, .result(generation: s.generation, layer: entry.name, result: r,
                                       report: measured.report, maps: maps))
        let frames = 50
        let start = DispatchTime.now().uptimeNanoseconds
        var cells = 0
        for _ in 0..<frames { cells += Renderer.render(s).cells.count }
        let ms = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6 / Double(frames)
        print(String(format: "render 200x60 (%@ %dx%d): %.2f ms per frame over %d frames", entry.name, w.rows, w.cols, ms, frames))
    }
}
