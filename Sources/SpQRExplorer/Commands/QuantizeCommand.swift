// spqr-explorer quantize: one layer, the full figures and baselines as a table or JSON.

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
            Without a calibration option the Hessian is the identity (data-free), and the output says so.
            """)

    @Argument(help: "Checkpoint file (safetensors).")
    var path: String?

    @Option(name: [.customLong("weights")], help: "Checkpoint file (same as PATH).")
    var weights: String?

    @Option(name: [.customLong("layer"), .customLong("tensor")], help: "Name of the weight tensor [out, in].")
    var layer: String

    @OptionGroup var calibration: CalibrationOptions
    @OptionGroup var settings: SettingsOptions

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    @Option(help: "Write the dequantized weights (Q, F32) and the outlier mask (outliers, U8) to this safetensors file.")
    var save: String?

    @Flag(name: [.customLong("no-baselines")], help: "Skip the round-to-nearest and GPTQ-without-outliers baselines.")
    var noBaselines = false

    func validate() throws {
        if path != nil && weights != nil { throw ValidationError("give the checkpoint either as PATH or with --weights, not both") }
        if path == nil && weights == nil { throw ValidationError("missing checkpoint: give PATH or --weights FILE") }
    }

    func run() throws {
        let config = try settings.apply(to: SpQRConfig())
        try config.validate()
        let checkpoint = try ModelFiles.openCheckpoint(path ?? weights!)
        let entry = try checkpoint.entry(layer)
        let w = try checkpoint.matrix(layer)
        let source = try calibration.source()
        let h = try source.hessian(forLayer: entry.name, inFeatures: w.cols)
        let start = DispatchTime.now().uptimeNanoseconds
        let prepared = try PreparedLayer(name: entry.name, weights: w, hessian: h, config: config)
        let result = try SpQR.run(prepared, config: config)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        let baselines = noBaselines ? nil : try SpQR.baselines(prepared, config: config)
        let report = LayerReport(layer: entry.name, result: result, baselines: baselines, sourceDtype: entry.dtype,
                                 sourceBits: entry.bitsPerWeight, seconds: seconds, calibration: source.label)
        if let save {
            try SafetensorsWriter.write([
                .f32("Q", shape: [w.rows, w.cols], result.dequantized.values),
                .u8("outliers", shape: [w.rows, w.cols], result.outlierMask),
            ], metadata: ["layer": entry.name, "format": "spqr-explorer dequantized layer"], to: save)
        }
        var notes = config.notes(inFeatures: w.cols)
        if source.kind == .none { notes.append("no calibration data: H = I (data-free); errors are weight errors, not output errors") }
        if json {
            print(try ReportFormat.json(report))
        } else {
            print(ReportFormat.table(report))
        }
        for note in notes { FileHandle.standardError.write(Data("note: \(note)\n".utf8)) }
    }
}
