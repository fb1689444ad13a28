// spqr-explorer eval: perplexity of a whole model on a text by the GPTQ / SpQR protocol, and with --base
// the KL divergence from a base model on the same windows (SpQRModel/Perplexity.swift).

import ArgumentParser
import Foundation
import SpQRCore
import SpQRModel

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Perplexity of a whole model on a text (GPTQ/SpQR protocol), and KL from a base model.",
        discussion: """
            The text is tokenized whole by the model's own tokenizer, cut into
            non-overlapping windows of --seqlen tokens (the remainder is dropped), and
            every window is scored from its second token on; ppl = exp(mean over windows
            of the mean cross-entropy). With --base, the same windows also give mean
            KL(base ‖ model) over scored positions, its 99th percentile and the top-1
            agreement. Ctrl-C stops after the current window and reports the windows done.

            Examples:
              spqr-explorer eval "$(scripts/fetch-model.sh)" --text jargon-4.4.7.heldout.txt --max-windows 8
              spqr-explorer eval quantized/ --base original/ --text heldout.txt --seqlen 2048 --json
            """)

    @Argument(help: "Model: a GGUF file, a safetensors file with config.json beside it, or a directory of shards.")
    var model: String

    @Option(help: "UTF-8 text to evaluate on (held out from calibration).")
    var text: String

    @Option(help: "Tokens per window (the paper uses 2048).")
    var seqlen = 512

    @Option(name: .customLong("max-windows"), help: "Evaluate at most this many windows (from the start).")
    var maxWindows: Int?

    @Option(help: "A base model with the same tokenizer: adds KL(base ‖ model), its p99 and top-1 agreement.")
    var base: String?

    @Option(
        name: .customLong("calibration-text"),
        help: "The text the model was calibrated on: a note says when the evaluation text overlaps it.")
    var calibrationText: String?

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Flag(help: "Also measure the sgemm rate and, where Python has torch, transformers' tokens/s on the same windows.")
    var bench = false

    func validate() throws {
        guard seqlen >= 2 else {
            throw ValidationError("--seqlen must be at least 2 (the first token of a window is never scored)")
        }
        if let maxWindows, maxWindows < 1 { throw ValidationError("--max-windows must be at least 1") }
    }

    func run() throws {
        let decoder = try Decoder(path: model)
        let baseDecoder = try base.map { try Decoder(path: $0) }
        let input = try RunText(path: text, model: model, specialTokens: true)
        if let calibrationText {
            guard let calibration = FileManager.default.contents(atPath: calibrationText) else {
                throw SpQRError(
                    .io, "\(calibrationText): cannot read the calibration text; check the path and permissions")
            }
            if let note = overlapNote(
                evaluation: input.data, calibration: calibration, calibrationPath: calibrationText)
            {
                printNotes([note])
            }
        }
        let windows = Perplexity.windows(input.tokens, seqlen: seqlen, maxWindows: maxWindows)
        guard !windows.isEmpty else {
            throw SpQRError(
                .invalidSetting,
                "\(text): \(input.tokens.count) tokens, fewer than one window of \(seqlen); use a longer text or a smaller --seqlen"
            )
        }
        let interrupt = InterruptCancels()
        let progress = ETAProgress("eval")
        let start = Date()
        var result: PerplexityResult
        do {
            result = try Perplexity.evaluate(decoder, base: baseDecoder, windows: windows, cancel: interrupt.token) {
                done, total in
                progress.step(done, of: total, "windows")
            }
        } catch let e as SpQRError where e.kind == .cancelled {
            progress.progress.finish()
            printNotes(["stopped by Ctrl-C; no figures (a partial perplexity would not be comparable)"])
            throw ExitCode(130)
        }
        progress.progress.finish()
        let seconds = Date().timeIntervalSince(start)
        let tokens = windows.count * seqlen
        var report = EvalReport(
            model: model, text: text, text_sha256: input.sha256, seqlen: seqlen, n_windows: windows.count,
            n_tokens: tokens, ppl: result.ppl, seconds: seconds,
            tokens_per_s: Double(tokens * (baseDecoder == nil ? 1 : 2)) / seconds,
            peak_rss_mb: Double(Memory.peakResidentBytes()) / 1_048_576)
        if baseDecoder != nil {
            report.base = base
            report.base_ppl = result.basePPL
            report.kl_mean = result.klMean
            report.kl_p99 = result.klP99
            report.top1_agreement = result.top1Agreement
        }
        if bench { report.bench = try EvalBench.measure(decoder, model: model, windows: windows) }
        if json {
            print(try ReportFormat.json(report))
        } else {
            print(report.table)
        }
        printNotes([peakMemoryNote()])
    }
}

/// The figures of `eval` (JSON field names as documented).
struct EvalReport: Encodable {
    var model: String
    var text: String
    var text_sha256: String
    var seqlen: Int
    var n_windows: Int
    var n_tokens: Int
    var ppl: Double
    var seconds: Double
    /// Tokens through a model per second (both models count with --base).
    var tokens_per_s: Double
    var peak_rss_mb: Double
    var base: String?
    var base_ppl: Double?
    var kl_mean: Double?
    var kl_p99: Double?
    var top1_agreement: Double?
    var bench: EvalBench?

    var table: String {
        var rows = [["ppl", ReportFormat.fmt(ppl)]]
        if let base_ppl { rows.append(["base ppl", ReportFormat.fmt(base_ppl)]) }
        if let kl_mean { rows.append(["KL(base‖model) mean", ReportFormat.fmt(kl_mean, 6)]) }
        if let kl_p99 { rows.append(["KL p99", ReportFormat.fmt(kl_p99, 6)]) }
        if let top1_agreement { rows.append(["top-1 agreement", String(format: "%.2f%%", 100 * top1_agreement)]) }
        rows += [
            ["windows × seqlen", "\(n_windows) × \(seqlen) = \(n_tokens) tokens"],
            ["text", "\(text) (SHA-256 \(text_sha256))"],
            ["time", String(format: "%.1f s, %.0f tokens/s", seconds, tokens_per_s)],
        ]
        if let bench { rows += bench.rows }
        return ReportFormat.columns(rows)
    }
}
