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

    @Argument(
        help:
            "Checkpoint: a safetensors file, a directory of shards (or its model.safetensors.index.json), or a GGUF file."
    )
    var path: String

    @Flag(
        help:
            "Add std, max |w| and kurtosis (reads every quantizable tensor in bounded memory; tensors over \(TensorStatistics.exactLimit) elements are sampled, and marked so)."
    )
    var stats = false

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let checkpoint = try ModelFiles.openCheckpoint(path)
        var rows = checkpoint.tensors.map(LayerRow.init)
        if stats { try Self.addStatistics(&rows, checkpoint) }
        if json {
            print(try ReportFormat.json(rows))
            return
        }
        var lines = [
            ["name", "block", "shape", "dtype", "size", "quantizable"] + (stats ? ["std", "max|w|", "kurtosis"] : [])
        ]
        for r in rows {
            var line = [
                r.name, r.block ?? "-", r.shape.map(String.init).joined(separator: "x"), r.dtype,
                ReportFormat.bytes(r.bytes),
                r.quantizable ? "yes" : "no: \(r.reason ?? "")",
            ]
            if stats {
                line +=
                    r.statistics.map { s in
                        [
                            String(format: "%.4g", s.std), String(format: "%.4g", s.maxAbs),
                            String(format: "%.3f", s.kurtosis),
                        ].map { s.sampledElements == nil ? $0 : $0 + "*" }
                    } ?? ["-", "-", "-"]
            }
            lines.append(line)
        }
        print(ReportFormat.columns(lines))
        // Notes (re-quantization, row order) once per distinct text; --json has them per tensor.
        var noted: [String: [String]] = [:]
        for r in rows { if let note = r.note { noted[note, default: []].append(r.name) } }
        for r in rows {
            if let s = r.statistics, let n = s.sampledElements {
                noted[
                    "statistics marked * are from a sample of \(n) of its \(r.shape.reduce(1, *)) elements (\(TensorStatistics.sampleRuns) runs spread over the tensor)",
                    default: []
                ].append(r.name)
            }
        }
        printNotes(
            noted.keys.sorted().map { note in
                let names = noted[note]!
                return names.count == 1 ? "\(names[0]): \(note)" : "\(names.count) tensors: \(note)"
            })
    }

    /// Summarises the quantizable tensors a few at a time (each streamed in chunks) and fills in their
    /// statistics; the first error is reported.
    static func addStatistics(_ rows: inout [LayerRow], _ checkpoint: any Checkpoint) throws {
        let todo = rows.indices.filter { rows[$0].quantizable }
        let names = todo.map { rows[$0].name }
        let results = Locked<[Int: Result<TensorStatistics, Error>]>([:])
        let next = Locked(0)
        let workers = min(todo.count, 4, max(1, ProcessInfo.processInfo.activeProcessorCount))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                let j = next.withLock { n in
                    defer { n += 1 }
                    return n
                }
                guard j < todo.count else { return }
                let r = Result { try checkpoint.statistics(names[j]) }
                results.withLock { $0[todo[j]] = r }
            }
        }
        let done = results.withLock { $0 }
        for i in todo {
            guard let r = done[i] else { continue }
            rows[i].statistics = try r.get()
        }
    }
}
