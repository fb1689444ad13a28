// spqr-explorer layers: the tensors of a checkpoint.

import ArgumentParser
import Foundation
import SpQRCore

struct LayersCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layers",
        abstract: "List the tensors of a checkpoint: block, shape, dtype, size, and whether they can be quantized.",
        discussion: """
            Examples:
              spqr-explorer layers model.safetensors
              spqr-explorer layers model.safetensors --stats --json
            """)

    @Argument(help: "Checkpoint: a safetensors file, a directory of shards (or its model.safetensors.index.json), or a GGUF file.")
    var path: String

    @Flag(help: "Add std, max |w| and kurtosis (reads every quantizable tensor).")
    var stats = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct Row: Encodable {
        var name: String
        var block: String?
        var shape: [Int]
        var dtype: String
        var bytes: Int
        var quantizable: Bool
        var reason: String?
        var statistics: TensorStatistics?
    }

    func run() throws {
        let checkpoint = try ModelFiles.openCheckpoint(path)
        var rows: [Row] = []
        for t in checkpoint.tensors {
            var row = Row(name: t.name, block: LayerNames.block(of: t.name), shape: t.shape, dtype: t.dtype,
                          bytes: Int((Double(t.elementCount) * t.bitsPerWeight / 8).rounded(.up)),
                          quantizable: t.isQuantizable, reason: t.notQuantizableReason)
            if stats && t.isQuantizable { row.statistics = TensorStatistics(try checkpoint.matrix(t.name).values) }
            rows.append(row)
        }
        if json {
            print(try ReportFormat.json(rows))
            return
        }
        var lines = [["name", "block", "shape", "dtype", "size", "quantizable"] + (stats ? ["std", "max|w|", "kurtosis"] : [])]
        for r in rows {
            var line = [r.name, r.block ?? "-", r.shape.map(String.init).joined(separator: "x"), r.dtype,
                        ReportFormat.bytes(r.bytes),
                        r.quantizable ? "yes" : "no: \(r.reason ?? "")"]
            if stats {
                line += r.statistics.map { [String(format: "%.4g", $0.std), String(format: "%.4g", $0.maxAbs), String(format: "%.3f", $0.kurtosis)] } ?? ["-", "-", "-"]
            }
            lines.append(line)
        }
        print(ReportFormat.columns(lines))
    }
}
