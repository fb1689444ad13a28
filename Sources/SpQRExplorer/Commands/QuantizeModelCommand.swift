// spqr-explorer quantize-model: every linear layer of every block quantized with SpQR (a recipe's defaults
// and per-layer overrides, or one setting for all), written as a checkpoint people load: the source's own
// format with the layers dequantized, or the Hugging Face SpQR format. A stopped run resumes from its
// journal; the output appears only when complete (SpQRModel/ModelQuantizer.swift).

import ArgumentParser
import Foundation
import SpQRCore
import SpQRModel

/// The output formats of quantize-model.
enum ModelOutputFormat: String, ExpressibleByArgument, CaseIterable, Codable {
    /// The input's format, the quantized layers dequantized.
    case source
    /// Hugging Face `quant_method: "spqr"`.
    case spqrHF = "spqr-hf"
}

extension GGUFWeightType: ExpressibleByArgument {}

struct QuantizeModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "quantize-model",
        abstract: "Quantize every linear layer of a model with SpQR and write the model.",
        discussion: """
            Settings: a recipe's defaults and per-layer overrides (--recipe), or the
            defaults (the SpQR README 3-bit recipe); settings flags apply to every layer
            on top of either. Norms are kept as they are, and so are the embedding and a
            separate output layer unless the recipe names them.

            Calibration: --text quantizes sequentially as the reference main.py does
            (windows run through the model block by block; each block's Hessians come from
            the inputs the already-quantized blocks produce; within a block q/k/v, then o,
            then gate/up, then down). --hessians (e.g. from `calibrate`) or --imatrix
            quantize each layer with its own Hessian; none of them: data-free, H = I.

            The run keeps a journal in OUT.partial: Ctrl-C or a kill leaves it, and the
            same command resumes where it stopped (finished layers are read back, checked
            by SHA-256). OUT appears only when complete, with OUT.report.json beside it.

            Examples:
              spqr-explorer quantize-model "$(scripts/fetch-model.sh)" --text calibration.txt --out smollm2-spqr.gguf
              spqr-explorer quantize-model model/ --recipe recipe.json --hessians h.safetensors --out model-spqr/
              spqr-explorer quantize-model model.gguf --text c4.txt --out model-spqr-hf --format spqr-hf --eval heldout.txt
            """)

    @Argument(help: "Model: a GGUF file, a safetensors file with config.json beside it, or a directory of shards.")
    var model: String

    @Option(help: "Recipe whose defaults and per-layer overrides set each layer's settings.")
    var recipe: String?

    @OptionGroup var settings: SettingsOptions

    @Option(help: "Calibration text: quantize sequentially from windows of it.")
    var text: String?

    @OptionGroup var window: WindowOptions

    @Option(name: [.customLong("hessians"), .customLong("hessian")], help: "Hessian file (e.g. from `calibrate`).")
    var hessians: String?

    @Option(help: "llama.cpp importance matrix: a diagonal Hessian per layer.")
    var imatrix: String?

    @Option(help: "Output path: a GGUF file for a GGUF source, a directory otherwise (and for spqr-hf).")
    var out: String

    @Option(help: "source: the input's format, quantized layers dequantized; spqr-hf: Hugging Face SpQR.")
    var format: ModelOutputFormat = .source

    @Option(name: .customLong("weight-type"), help: "Type of the dequantized layers in a GGUF output: f16 or f32.")
    var weightType: GGUFWeightType = .f16

    @Option(help: "Held-out text: evaluate the output against the model and print what the SpQR paper claims.")
    var eval: String?

    @Option(name: .customLong("eval-seqlen"), help: "Tokens per evaluation window.")
    var evalSeqlen = 512

    @Option(name: .customLong("eval-windows"), help: "Evaluation windows (from the start of the text).")
    var evalWindows = 16

    @Flag(help: "Print the report as JSON instead of tables.")
    var json = false

    /// Calibration windows with --text (the reference's --nsamples).
    var nsamples: Int { settings.calibrationWindows }

    func validate() throws {
        if [text, hessians, imatrix].compactMap({ $0 }).count > 1 {
            throw ValidationError("give one calibration source: --text, --hessians or --imatrix")
        }
        guard nsamples >= 1 else { throw ValidationError("--nsamples must be at least 1") }
        guard evalSeqlen >= 2, evalWindows >= 1 else {
            throw ValidationError("--eval-seqlen must be at least 2 and --eval-windows at least 1")
        }
    }

    func run() throws {
        var clock = PhaseClock()
        var phases: [(String, Double)] = []
        let decoder = try Decoder(path: model)
        let recipe = try self.recipe.map { try Recipe.read(path: $0) }
        let plan = try QuantizationPlan.make(decoder, defaults: recipe?.defaults ?? SpQRConfig(), recipe: recipe)
            .applying { try settings.apply(to: $0) }
        let output = try ModelOutput(format: format, weightType: weightType, decoder: decoder, plan: plan, out: out)
        let calibration = try calibrationSource(decoder)
        phases.append(("reading and checking", clock.lap()))
        let inputs = try inputsDigest(plan: plan, calibration: calibration)
        let journal = try QuantizationJournal(directory: out + ".partial", inputs: inputs)
        let resumed = journal.finished.count
        let quantizer = ModelQuantizer(
            model: decoder, plan: plan, journal: journal, extraTensors: output.journalTensors)
        let interrupt = InterruptCancels()
        let progress = ETAProgress("quantize-model")
        do {
            try quantizer.run(calibration.model, cancel: interrupt.token) { done, total, _ in
                progress.step(Double(done), of: total, "layers")
            }
        } catch let e as SpQRError where e.kind == .cancelled {
            progress.progress.finish()
            printNotes([
                "stopped; \(journal.finished.count) of \(plan.layers.count) layers are kept in \(journal.directory) — run the same command to resume; \(out) was not written"
            ])
            throw ExitCode(130)
        }
        progress.progress.finish()
        for (name, seconds) in quantizer.phaseSeconds.sorted(by: { $0.key < $1.key }) {
            phases.append((name, seconds))
        }
        clock = PhaseClock()
        let written = try output.write(journal: journal, cancel: interrupt.token)
        phases.append(("writing \(format.rawValue)", clock.lap()))
        var report = try QuantizeModelReport(
            model: model, out: out, format: format, calibration: calibration.model.label, plan: plan,
            journal: journal, decoder: decoder, outputBytes: written, resumedLayers: resumed)
        if let eval {
            clock = PhaseClock()
            report.claims = try ModelClaims.measure(
                base: decoder, output: out, report: report, plan: plan, calibration: calibration.model,
                text: eval, model: model, seqlen: evalSeqlen, windows: evalWindows, cancel: interrupt.token)
            phases.append(("evaluation", clock.lap()))
        }
        report.phases = phases.map { .init(phase: $0.0, seconds: $0.1) }
        try AtomicFile.write(Data(try ReportFormat.json(report).utf8), to: out + ".report.json")
        journal.remove()
        print(json ? try ReportFormat.json(report) : report.table)
        printNotes(calibration.notes + [peakMemoryNote()])
    }

    /// The calibration the options ask for, its digest input and notes.
    func calibrationSource(_ decoder: Decoder) throws -> (model: ModelCalibration, digest: String, notes: [String]) {
        guard let text else {
            let source = try ModelFiles.openCalibration(hessians: hessians, imatrix: imatrix)
            let digest = try source.file.map { try FileDigests().digest($0) } ?? "none"
            return (.independent(source), digest, [])
        }
        let input = try RunText(path: text, model: model, specialTokens: false)
        let (windows, notes) = try window.windows(input, count: nsamples)
        let (seqlen, sampling) = (window.seqlen, window.sampling.rawValue)
        let label =
            "sequential: \(windows.count) × \(seqlen) tokens of \((text as NSString).lastPathComponent) (\(sampling))"
        return (
            .sequential(windows: windows, label: label),
            "text \(input.sha256) \(seqlen) \(windows.count) \(sampling) \(window.seed)", notes
        )
    }

    /// SHA-256 of everything the output depends on: model files, calibration, every layer's settings, format.
    func inputsDigest(plan: QuantizationPlan, calibration: (model: ModelCalibration, digest: String, notes: [String]))
        throws -> String
    {
        var h = SpQRCore.SHA256()
        let checkpoint = try ModelFiles.openCheckpoint(model)
        for f in ModelFiles.files(of: checkpoint) { h.update(Data(try FileDigests().digest(f).utf8)) }
        h.update(Data(calibration.digest.utf8))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for layer in plan.layers {
            h.update(Data(layer.name.utf8))
            h.update(try encoder.encode(layer.config))
        }
        h.update(Data("\(format.rawValue) \(weightType.rawValue)".utf8))
        return h.hexDigest()
    }
}
