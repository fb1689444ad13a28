// spqr-explorer allocate: every linear layer of a model measured over a menu of settings (cached on disk),
// then one setting per layer chosen to meet a target of average bits, model bytes or error with the least
// predicted error (SpQRCore/Allocation), written as a recipe that quantize-model --recipe applies.

import ArgumentParser
import Foundation
import SpQRCore
import SpQRModel

struct AllocateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "allocate",
        abstract: "Choose per-layer settings that meet a bits, size or error target, and write them as a recipe.",
        discussion: """
            Every linear layer quantize-model quantizes is measured at every setting of
            the menu (around the base settings given as flags), with its Hessian from
            --hessians (from `calibrate`) or --imatrix, or data-free (H = I) without
            either. Each layer's error is its absolute proxy loss tr(ΔW H ΔWᵀ); with
            --text, that times the layer's sensitivity measured on the model: the KL from
            the model as stored when that layer alone is quantized at the base settings,
            over --nsamples windows of the text, per unit of its proxy loss, so the error
            is predicted KL and the layers the model needs most get more bits. The solver
            minimises the layers' summed error under the target (exact on the layers'
            convex hulls by Lagrangian relaxation, then a greedy fix-up and a branch and
            bound that proves the choice optimal or improves it) and reports the gap to
            the bound and whether the choice is proven optimal. Measurements are cached
            (--cache) by the SHA-256 of the model and calibration files, the menu and the
            base settings, so a second run, or one stopped with Ctrl-C, starts from the
            cache.

            The recipe's defaults are the most common chosen setting; the other layers
            override them. Apply it with the same calibration: quantize-model MODEL
            --recipe OUT --hessians H --out Q.

            Examples:
              spqr-explorer allocate model.gguf --hessians h.safetensors --target-bits 3.5 --out r.json
              spqr-explorer allocate model.gguf --hessians h.safetensors --text calib.txt --target-bits 3.5 --out r.json
              spqr-explorer allocate model/ --target-size 24GB --menu "wbits=2,3,4;groupsize=16,64" --out r.json
            """)

    @Argument(help: "Model: a GGUF file, a safetensors file with config.json beside it, or a directory of shards.")
    var model: String

    @Option(name: [.customLong("hessians"), .customLong("hessian")], help: "Hessian file (e.g. from `calibrate`).")
    var hessians: String?

    @Option(help: "llama.cpp importance matrix: a diagonal Hessian per layer.")
    var imatrix: String?

    @Option(help: "UTF-8 text to measure each layer's sensitivity on (the error becomes predicted KL).")
    var text: String?

    @OptionGroup var window: WindowOptions

    @Option(name: .customLong("target-bits"), help: "Average bits per quantized weight, at most.")
    var targetBits: Double?

    @Option(
        name: [.customLong("target-bytes"), .customLong("target-size")],
        help: "Model size at most, kept tensors at fp16: bytes, or with a unit (24GB, 500MB, 1.5GiB).")
    var targetSize: String?

    @Option(name: .customLong("max-error"), help: "Σ of the layers' proxy losses at most; minimises the bits.")
    var maxError: Double?

    @Option(help: "Settings to choose from: \"name=v1,v2;…\" around the base settings.")
    var menu: String = SettingsMenu.standard.description

    @OptionGroup var settings: SettingsOptions

    /// Windows of --text the sensitivities are measured on.
    var nsamples: Int { settings.sensitivityWindows }

    @Option(help: "The recipe to write.")
    var out: String

    @Flag(help: "Replace --out if it exists.")
    var force = false

    @Option(help: "Directory of cached measurements.")
    var cache: String = FrontsCache.defaultDirectory

    @Flag(name: .customLong("no-cache"), help: "Measure every layer again and keep nothing.")
    var noCache = false

    @Flag(help: "Print the report as JSON instead of tables.")
    var json = false

    func validate() throws {
        if hessians != nil && imatrix != nil {
            throw ValidationError("give one calibration source: --hessians or --imatrix")
        }
        guard nsamples >= 1 else { throw ValidationError("--nsamples must be at least 1") }
        if [targetBits != nil, targetSize != nil, maxError != nil].filter({ $0 }).count != 1 {
            throw ValidationError("give one target: --target-bits, --target-bytes (or --target-size) or --max-error")
        }
    }

    func target() throws -> AllocationTarget {
        if let targetBits { return .averageBits(targetBits) }
        if let targetSize { return .totalBytes(try AllocationTarget.parseSize(targetSize)) }
        return .maxError(maxError!)
    }

    func run() throws {
        let target = try self.target()
        try target.validate()
        let menu = try SettingsMenu.parse(self.menu)
        let base = try settings.apply(to: SpQRConfig())
        _ = try menu.configs(around: base)
        if !force && FileManager.default.fileExists(atPath: out) {
            throw SpQRError(.io, "\(out) already exists; pass --force to replace it")
        }
        let decoder = try Decoder(path: model)
        let calibration = try ModelFiles.openCalibration(hessians: hessians, imatrix: imatrix)
        // The text is read and cut before any measuring, so a bad one fails at once.
        let sensitivityInput = try text.map { text in
            let (input, windows) = try window.windows(ofText: text, model: model, count: nsamples)
            return (text, input, windows)
        }
        let digests = FileDigests()
        let interrupt = InterruptCancels()
        let (hashing, hashingLine) = hashingProgress("of model and calibration files")
        let inputs = try Recipe.describeInputs(
            checkpoint: decoder.source, calibration: calibration, digests: digests, cancel: interrupt.token,
            progress: hashing)
        hashingLine.finish()
        let cache =
            noCache
            ? nil
            : try FrontsCache(
                directory: cache, checkpoint: decoder.source, calibration: calibration, menu: menu, base: base,
                digests: digests, cancel: interrupt.token)
        /// Stopped with Ctrl-C: says where the finished layers are kept and that nothing was written.
        func stopped(_ progress: ETAProgress, keptIn place: String?) -> ExitCode {
            progress.progress.finish()
            let kept = place.map { " (the layers finished so far are kept in \($0))" } ?? ""
            printNotes(["stopped\(kept); \(out) was not written"])
            return ExitCode(130)
        }
        let progress = ETAProgress("allocate: measuring")
        let cached = Locked(0)
        var fronts: ModelFronts
        do {
            fronts = try ModelFrontsMeasurement.measure(
                model: decoder, calibration: calibration, menu: menu, base: base, cache: cache,
                cancel: interrupt.token
            ) { p in
                cached.withLock { $0 = p.cachedLayers }
                // A layer's start is the previous one's end: shown once.
                guard p.settingsDone > 0 || p.layerIndex == 0 else { return }
                progress.step(p.fraction * Double(p.layers), of: p.layers, "layers")
            }
        } catch let e as SpQRError where e.kind == .cancelled {
            throw stopped(progress, keptIn: cache?.path)
        }
        progress.progress.finish()
        if let (text, input, windows) = sensitivityInput {
            let progress = ETAProgress("allocate: sensitivity")
            do {
                fronts = try fronts.weighted(
                    by: try SensitivityMeasurement.measure(
                        model: decoder, fronts: fronts, calibration: calibration, reference: base, windows: windows,
                        text: text, textSHA256: input.sha256, cache: cache, cancel: interrupt.token
                    ) { p, _ in progress.step(Double(p.layerIndex), of: p.layers, "layers") })
            } catch let e as SpQRError where e.kind == .cancelled {
                throw stopped(progress, keptIn: cache?.directory)
            }
            progress.progress.finish()
        }
        var clock = PhaseClock()
        let allocation = try fronts.allocate(target)
        let solveSeconds = clock.lap()
        let defaults = allocation.commonConfig
        let recipe = Recipe.make(
            model: inputs.model, calibration: inputs.calibration, defaults: defaults,
            configs: Dictionary(uniqueKeysWithValues: allocation.choices.map { ($0.layer, $0.config) }),
            shapes: Dictionary(uniqueKeysWithValues: allocation.choices.map { ($0.layer, $0.shape) }), reports: [:])
        try recipe.write(to: out, overwrite: force)
        let report = AllocateReport(
            model: model, allocation: allocation, fronts: fronts, recipe: out, cachedLayers: cached.withLock { $0 },
            solveSeconds: solveSeconds)
        print(json ? try ReportFormat.json(report) : report.table)
        if fronts.dataFree {
            printNotes(["no calibration: data-free (H = I), so each layer's error is its weight error ‖ΔW‖²"])
        }
    }
}
