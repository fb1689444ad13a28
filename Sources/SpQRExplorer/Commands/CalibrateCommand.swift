// spqr-explorer calibrate: Hessians of every linear layer's input from calibration text, in the
// project's Hessian file format (docs/hessian-format.md), without Python (SpQRModel/HessianCollector.swift).

import ArgumentParser
import Foundation
import SpQRCore
import SpQRModel

struct CalibrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Collect H = 2/N Σ x xᵀ for every linear layer's input from text, into a Hessian file.",
        discussion: """
            The text is tokenized whole without special tokens (as
            tools/collect_hessians.py does), cut into windows of --seqlen tokens drawn by
            --sampling (first: consecutive from the start; even: spread over the text, as
            collect_hessians.py; random: any start, seeded), and every window passes
            through the model block by block. N counts windows (the reference's
            add_batch). The file holds one matrix per input site (q/k/v share one, gate/up
            another, and lm_head's), a layers map, and the provenance: model, text and its
            SHA-256, sampling, windows, tokens, tool version. It is written atomically;
            Ctrl-C leaves no file behind.

            Examples:
              spqr-explorer calibrate "$(scripts/fetch-model.sh)" --text jargon-4.4.7.calibration.txt --out h.safetensors
              spqr-explorer calibrate model/ --text c4.txt --out h.safetensors --seqlen 2048 --nsamples 128 --sampling random --seed 0
            """)

    /// Recorded as `tool_version` in the files written.
    static let toolVersion = "spqr-explorer calibrate 1"

    @Argument(help: "Model: a GGUF file, a safetensors file with config.json beside it, or a directory of shards.")
    var model: String

    @Option(help: "UTF-8 calibration text (keep it apart from the evaluation text).")
    var text: String

    @Option(help: "Hessian file to write (safetensors, format spqr-explorer-hessians).")
    var out: String

    @OptionGroup var window: WindowOptions

    @Option(help: "Number of windows.")
    var nsamples = 128

    @Option(
        name: .customLong("text-source"), help: "Where the text came from, recorded in the file (default: its path).")
    var textSource: String?

    func validate() throws {
        guard nsamples >= 1 else { throw ValidationError("--nsamples must be at least 1") }
    }

    func run() throws {
        let decoder = try Decoder(path: model)
        let (input, windows) = try window.windows(ofText: text, model: model, count: nsamples)
        let (seqlen, sampling) = (window.seqlen, window.sampling)
        var provenance = [
            "model": model, "text_source": textSource ?? text, "text_sha256": input.sha256,
            "n_sequences": "\(windows.count)", "n_tokens": "\(windows.count * seqlen)", "seq_len": "\(seqlen)",
            "sampling": sampling.rawValue, "tool_version": Self.toolVersion,
        ]
        if sampling == .random { provenance["seed"] = "\(window.seed)" }
        if let gguf = try? GGUFFile(path: model), let name = gguf.metadata["general.name"]?.stringValue {
            provenance["model_name"] = name
        }
        let interrupt = InterruptCancels()
        let progress = ETAProgress("calibrate")
        do {
            try HessianCollector.collect(
                decoder, windows: windows, provenance: provenance, to: out, cancel: interrupt.token
            ) { done, total in
                progress.step(Double(done), of: total, "blocks")
            }
        } catch let e as SpQRError where e.kind == .cancelled {
            progress.progress.finish()
            printNotes(["stopped by Ctrl-C; \(out) was not written"])
            throw ExitCode(130)
        }
        progress.progress.finish()
        print(
            "wrote \(out): \(4 * decoder.config.blocks + 1) input sites, \(windows.count) windows × \(seqlen) tokens (\(sampling.rawValue))"
        )
        printNotes([peakMemoryNote()])
    }
}
