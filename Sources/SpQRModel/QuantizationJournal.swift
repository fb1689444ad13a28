// The journal of a whole-model quantization, so that a stopped run resumes where it stopped.
//
// A directory beside the output (`<out>.partial`) holds `journal.json` — the SHA-256 of the run's inputs
// (model files, calibration, the plan's settings, the output format) and, for every finished layer, the
// SHA-256 of its file — and one safetensors file per finished layer (its dequantized weights and whatever
// the output format needs, the layer's report in the metadata). Each layer file is written atomically
// before the journal names it, and the journal is rewritten atomically, so a kill at any point leaves a
// journal whose named layers are complete. A journal made from other inputs is never reused.

import Foundation
import SpQRCore

/// Finished layers of a whole-model quantization, on disk.
public final class QuantizationJournal: @unchecked Sendable {
    public let directory: String
    public let inputs: String
    private var done: [String: String]
    private let lock = NSLock()

    struct Contents: Codable {
        var format = "spqr-explorer-quantize-journal"
        var inputs: String
        var layers: [String: String]
    }

    /// Opens the journal in `directory` for a run with `inputs` (a digest of everything the output depends
    /// on), or starts one. A journal of other inputs is refused, naming the directory to remove.
    public init(directory: String, inputs: String) throws {
        self.directory = directory
        self.inputs = inputs
        let index = (directory as NSString).appendingPathComponent("journal.json")
        if let data = FileManager.default.contents(atPath: index) {
            guard let c = try? JSONDecoder().decode(Contents.self, from: data) else {
                throw SpQRError(
                    .fileFormat,
                    "\(index) is not a quantization journal; remove \(directory) to start over")
            }
            guard c.inputs == inputs else {
                throw SpQRError(
                    .invalidSetting,
                    "\(directory) holds a stopped run with other inputs (model, calibration, settings or output format differ); run the same command to resume it, or remove the directory to start over"
                )
            }
            done = c.layers
        } else {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            } catch {
                throw SpQRError(
                    .io,
                    "\(directory): cannot create the run's journal (\(error.localizedDescription)); choose an output in a writable directory"
                )
            }
            done = [:]
            try save()
        }
    }

    /// Names of the finished layers.
    public var finished: Set<String> { lock.withLock { Set(done.keys) } }

    public func isDone(_ layer: String) -> Bool { lock.withLock { done[layer] != nil } }

    func file(_ layer: String) -> String { (directory as NSString).appendingPathComponent(layer + ".safetensors") }

    /// Records a finished layer: its tensors (the first named `weight`, F32 [out, in]) and its report.
    public func record(_ layer: String, tensors: [SafetensorsWriter.Tensor], report: LayerReport) throws {
        let path = file(layer)
        let meta = ["report": String(decoding: try JSONEncoder().encode(report), as: UTF8.self)]
        let writer = try SafetensorsStreamWriter(
            path: path, typed: tensors.map { ($0.name, $0.dtype, $0.shape) }, metadata: meta)
        for t in tensors { try t.bytes.withUnsafeBytes { try writer.appendBytes($0) } }
        try writer.finish()
        let digest = try Self.digest(path)
        try lock.withLock {
            done[layer] = digest
            try save()
        }
    }

    /// The file of a finished layer, checked against the digest the journal recorded.
    public func open(_ layer: String) throws -> SafetensorsFile {
        let path = file(layer)
        guard let expected = lock.withLock({ done[layer] }) else {
            throw SpQRError(.invalidSetting, "internal: layer \(layer) is not finished")
        }
        guard (try? Self.digest(path)) == expected else {
            throw SpQRError(
                .fileFormat,
                "\(path) changed since it was written (its SHA-256 differs from the journal's); remove \(directory) to start over"
            )
        }
        return try SafetensorsFile(path: path)
    }

    /// The dequantized weights and the report of a finished layer.
    public func load(_ layer: String) throws -> (weights: [Float], report: LayerReport) {
        let f = try open(layer)
        guard let json = f.metadata["report"],
            let report = try? JSONDecoder().decode(LayerReport.self, from: Data(json.utf8))
        else {
            throw SpQRError(.fileFormat, "\(file(layer)): the layer's report is missing; remove \(directory)")
        }
        return (try f.floats("weight"), report)
    }

    /// Removes the journal (after the output is complete).
    public func remove() { try? FileManager.default.removeItem(atPath: directory) }

    private func save() throws {
        let data = try JSONEncoder.sorted.encode(Contents(inputs: inputs, layers: done))
        try AtomicFile.write(data, to: (directory as NSString).appendingPathComponent("journal.json"))
    }

    static func digest(_ path: String) throws -> String { try FileDigests().digest(path) }
}

extension JSONEncoder {
    /// Keys sorted, for files that are compared byte for byte.
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .prettyPrinted]
        return e
    }
}
