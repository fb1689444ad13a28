// What the SpQR paper claims, measured on the user's model after quantize-model --eval:
//   - size: average bits and bytes against fp16 (the paper: 3–4 bits, about 4× smaller);
//   - sensitivity concentration: the share of Σ sensitivity held by the top 1% of weights, per layer,
//     averaged over the quantized layers weighted by parameters (the paper: over 75% in under 1%);
//   - near-lossless: perplexity on held-out windows and KL(base ‖ model) against the unquantized model,
//     beside round-to-nearest and GPTQ without outliers at the same or fewer bits.
// The baselines use one grid point for every layer (EqualBitSearch's grid, outliers off): the one with the
// most average bits within the SpQR model's average, so they never cost more than SpQR. GPTQ is calibrated
// like the SpQR run; round-to-nearest needs no calibration.

import Foundation
import SpQRCore
import SpQRModel

struct ModelClaims: Encodable {
    struct Evaluated: Encodable {
        var method: String
        var settings: String
        var avg_bits: Double
        var ppl: Double
        var kl_mean: Double
        var top1_agreement: Double
    }

    var text: String
    var n_windows: Int
    var seqlen: Int
    var base_ppl: Double
    var avg_bits: Double
    var compression_fp16: Double
    var sensitivity_top1pct: Double
    var models: [Evaluated]

    static func measure(
        base: Decoder, output: String, report: QuantizeModelReport, plan: QuantizationPlan,
        calibration: ModelCalibration, text: String, model: String, seqlen: Int, windows count: Int,
        cancel: CancellationToken
    ) throws -> ModelClaims {
        let input = try RunText(path: text, model: model, specialTokens: true)
        let windows = Perplexity.windows(input.tokens, seqlen: seqlen, maxWindows: count)
        guard !windows.isEmpty else {
            throw SpQRError(
                .invalidSetting,
                "\(text): \(input.tokens.count) tokens, fewer than one window of \(seqlen); use a longer text or a smaller --eval-seqlen"
            )
        }
        let progress = ETAProgress("evaluating")
        var models: [Evaluated] = []
        var basePPL = 0.0
        func evaluate(_ decoder: Decoder, _ method: String, _ settings: String, _ bits: Double) throws {
            let r = try Perplexity.evaluate(decoder, base: base, windows: windows, cancel: cancel) { done, total in
                progress.step(Double(models.count) + done / Double(total), of: 3, "models")
            }
            basePPL = r.basePPL ?? 0
            models.append(
                Evaluated(
                    method: method, settings: settings, avg_bits: bits, ppl: r.ppl, kl_mean: r.klMean ?? 0,
                    top1_agreement: r.top1Agreement ?? 0))
        }
        let bits = report.totals.avg_bits
        try evaluate(try Decoder(path: output), "SpQR", "the run's (written output)", bits)

        // The baselines' grid point: the most average bits within SpQR's.
        var around = plan.layers[0].config
        around.outlierThreshold = .infinity
        let candidates = EqualBitSearch.candidates(around: around, budget: bits)
        guard
            let point = candidates.max(by: {
                BitCost.referenceAverageBits($0, outlierShare: 0) < BitCost.referenceAverageBits($1, outlierShare: 0)
            })
        else {
            throw SpQRError(.invalidSetting, "no round-to-nearest or GPTQ setting fits within \(bits) bits")
        }
        let pointBits = BitCost.referenceAverageBits(point, outlierShare: 0)
        let summary = EqualBitSearch.summary(point)

        var rtn = point
        rtn.permutationOrder = .identity
        let rtnModel = try Decoder(path: model)
        let planned = Set(plan.layers.map(\.name))
        rtnModel.weightOverride = { name, buffer in
            guard planned.contains(name) else { return false }
            let w = try rtnModel.storedMatrix(name)
            _ = buffer.update(
                fromContentsOf: RoundToNearest.quantize(permuted: w.values, rows: w.rows, cols: w.cols, config: rtn))
            return true
        }
        try evaluate(rtnModel, "round-to-nearest", summary, pointBits)

        let gptqPlan = try plan.applying { _ in point }
        let directory = output + ".partial-gptq"
        try? FileManager.default.removeItem(atPath: directory)
        let journal = try QuantizationJournal(directory: directory, inputs: "gptq baseline")
        defer { journal.remove() }
        try ModelQuantizer(model: try Decoder(path: model), plan: gptqPlan, journal: journal).run(
            calibration, cancel: cancel
        ) { done, total, _ in progress.progress.phase("GPTQ baseline: \(done)/\(total) layers") }
        let gptqModel = try Decoder(path: model)
        gptqModel.weightOverride = { name, buffer in
            guard journal.isDone(name) else { return false }
            _ = buffer.update(fromContentsOf: try journal.load(name).weights)
            return true
        }
        try evaluate(gptqModel, "GPTQ without outliers", summary, pointBits)
        progress.progress.finish()

        let quantized = report.layers.reduce(0) { $0 + $1.shape[0] * $1.shape[1] }
        let concentration =
            report.layers.reduce(0.0) { $0 + $1.sensitivityConcentration * Double($1.shape[0] * $1.shape[1]) }
            / Double(max(quantized, 1))
        return ModelClaims(
            text: text, n_windows: windows.count, seqlen: seqlen, base_ppl: basePPL, avg_bits: bits,
            compression_fp16: report.totals.compression_fp16, sensitivity_top1pct: concentration, models: models)
    }

    var table: String {
        var rows = [["claim (SpQR paper)", "measured on this model"]]
        rows.append([
            "3–4 bits per weight, about 4× smaller than fp16",
            "\(ReportFormat.fmt(avg_bits, 3)) bits, ×\(ReportFormat.fmt(compression_fp16, 2)) smaller (whole model)",
        ])
        rows.append([
            "over 75% of the sensitivity in under 1% of the weights",
            "\(String(format: "%.1f%%", 100 * sensitivity_top1pct)) in the top 1% (mean over layers, by parameters)",
        ])
        rows.append([
            "near-lossless perplexity",
            "base \(ReportFormat.fmt(base_ppl)) on \(n_windows) × \(seqlen) held-out tokens",
        ])
        var out = ReportFormat.columns(rows) + "\n\n"
        var table = [["model", "settings", "avg bits", "ppl", "Δppl", "KL(base‖model)", "top-1 agree"]]
        for m in models {
            table.append([
                m.method, m.settings, ReportFormat.fmt(m.avg_bits, 3), ReportFormat.fmt(m.ppl),
                String(format: "%+.2f%%", 100 * (m.ppl / base_ppl - 1)), ReportFormat.fmt(m.kl_mean, 5),
                String(format: "%.2f%%", 100 * m.top1_agreement),
            ])
        }
        out += ReportFormat.columns(table)
        return out
    }
}
