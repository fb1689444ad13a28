// What quantize-model reports (report.json beside the output, and tables on stdout): every layer's settings
// and figures; totals (parameters quantized and kept, average bits by the reference formula and by exact
// storage, the model's bytes in each output format and against fp16); the wall time by phase; and, with
// --eval, what the SpQR paper claims measured on this model (QuantizeModelClaims.swift).

import Foundation
import SpQRCore
import SpQRModel

struct QuantizeModelReport: Encodable {
    struct Totals: Encodable {
        var parameters_quantized: Int
        var parameters_kept: Int
        /// Σ avg_bits · parameters / Σ parameters over the quantized layers (the reference's formula).
        var avg_bits: Double
        /// Exact storage bits per quantized weight.
        var storage_bits_per_weight: Double
        /// Bytes of the whole model: every tensor in fp16, SpQR storage (kept tensors in fp16), the spqr-hf
        /// format (when its constraints hold), and the output as written.
        var bytes_fp16: Int
        var bytes_spqr_storage: Int
        var bytes_spqr_hf: Int?
        var bytes_output: Int
        var compression_fp16: Double
    }

    struct Phase: Encodable {
        var phase: String
        var seconds: Double
    }

    var model: String
    var out: String
    var format: ModelOutputFormat
    var calibration: String
    var resumed_layers: Int
    var layers: [LayerReport]
    var overridden_layers: [String]
    var totals: Totals
    var phases: [Phase] = []
    var claims: ModelClaims?

    init(
        model: String, out: String, format: ModelOutputFormat, calibration: String, plan: QuantizationPlan,
        journal: QuantizationJournal, decoder: Decoder, outputBytes: Int, resumedLayers: Int
    ) throws {
        self.model = model
        self.out = out
        self.format = format
        self.calibration = calibration
        resumed_layers = resumedLayers
        layers = try plan.layers.map { try journal.load($0.name).report }
        overridden_layers = plan.layers.filter(\.overridden).map(\.name)
        let quantized = plan.parameters
        let all = decoder.tensorEntries.reduce(0) { $0 + $1.elementCount }
        let kept = all - quantized
        let storage = layers.reduce(0) { $0 + $1.storageBits }
        let avg = layers.reduce(0.0) { $0 + $1.avgBits * Double($1.shape[0] * $1.shape[1]) } / Double(max(quantized, 1))
        let spqrHF =
            layers.allSatisfy { (try? SpQRHF.check($0.config)) != nil }
            ? layers.reduce(0) {
                $0 + SpQRHF.storageBits(
                    lengths: SpQRHF.lengths(rows: $1.shape[0], cols: $1.shape[1], outliers: $1.nOutliers)) / 8
            }
                + 2 * kept : nil
        let storageBytes = ModelSize.spqrBytes(storageBits: storage, keptParameters: kept)
        totals = Totals(
            parameters_quantized: quantized, parameters_kept: kept, avg_bits: avg,
            storage_bits_per_weight: Double(storage) / Double(max(quantized, 1)),
            bytes_fp16: ModelSize.fp16Bytes(parameters: all),
            bytes_spqr_storage: storageBytes, bytes_spqr_hf: spqrHF, bytes_output: outputBytes,
            compression_fp16: Double(ModelSize.fp16Bytes(parameters: all)) / Double(max(storageBytes, 1)))
    }

    var table: String {
        var rows = [["layer", "settings", "outliers", "avg bits", "rel proxy err", "rel weight err"]]
        let overridden = Set(overridden_layers)
        for l in layers {
            rows.append([
                l.layer + (overridden.contains(l.layer) ? " *" : ""), ReportFormat.settings(l.config),
                ReportFormat.pct(l.outlierFraction),
                ReportFormat.fmt(l.avgBits, 3), ReportFormat.sci(l.relProxyError), ReportFormat.sci(l.relWeightError),
            ])
        }
        var out = ReportFormat.columns(rows)
        if !overridden.isEmpty { out += "\n* per-layer override of the recipe's defaults" }
        let t = totals
        var summary = [
            ["calibration", calibration],
            [
                "parameters",
                "\(t.parameters_quantized) quantized, \(t.parameters_kept) kept as they are",
            ],
            [
                "average bits",
                "\(ReportFormat.fmt(t.avg_bits, 3)) (reference formula), \(ReportFormat.fmt(t.storage_bits_per_weight, 3)) (exact storage)",
            ],
            ["fp16 model", ReportFormat.bytes(t.bytes_fp16)],
            [
                "SpQR storage",
                "\(ReportFormat.bytes(t.bytes_spqr_storage)) (×\(ReportFormat.fmt(t.compression_fp16, 2)) smaller than fp16)",
            ],
        ]
        if let hf = t.bytes_spqr_hf { summary.append(["spqr-hf format", ReportFormat.bytes(hf)]) }
        summary.append(["written (\(format.rawValue))", "\(ReportFormat.bytes(t.bytes_output)) at \(out)"])
        if resumed_layers > 0 { summary.append(["resumed", "\(resumed_layers) layers from the journal"]) }
        for p in phases { summary.append(["time: " + p.phase, String(format: "%.1f s", p.seconds)]) }
        out += "\n\n" + ReportFormat.columns(summary)
        if let claims { out += "\n\n" + claims.table }
        return out
    }
}
