// A Hugging Face checkpoint directory: `model.safetensors.index.json` = {"metadata": {…}, "weight_map":
// {tensor name: shard file}} beside the shards, or a single `model.safetensors`. Every shard is opened
// (headers only, memory-mapped) when the checkpoint is listed; tensor data is read on demand.

import Foundation

/// A directory checkpoint (sharded or single-file safetensors).
public struct SafetensorsDirectoryCheckpoint: Checkpoint {
    public let path: String
    public let tensors: [TensorEntry]
    /// Shard files by file name.
    let shards: [String: SafetensorsCheckpoint]

    /// Opens the directory at `path`.
    public init(path: String) throws {
        self.path = path
        let dir = URL(fileURLWithPath: path)
        let index = dir.appendingPathComponent("model.safetensors.index.json")
        var shardNames: [String]
        var weightMap: [String: String] = [:]
        if FileManager.default.fileExists(atPath: index.path) {
            guard let data = FileManager.default.contents(atPath: index.path),
                  let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw SpQRError(.fileFormat, "\(index.path): not valid JSON")
            }
            guard let map = root["weight_map"] as? [String: Any] else {
                throw SpQRError(.fileFormat, "\(index.path): missing the \"weight_map\" object")
            }
            for (k, v) in map {
                guard let f = v as? String, !f.contains("/"), !f.hasPrefix(".") else {
                    throw SpQRError(.fileFormat, "\(index.path): weight_map[\"\(k)\"] must name a file in the same directory")
                }
                weightMap[k] = f
            }
            shardNames = Array(Set(weightMap.values)).sorted()
        } else {
            shardNames = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".safetensors") }.sorted()
            guard !shardNames.isEmpty else {
                throw SpQRError(.fileFormat, "\(path): no model.safetensors.index.json and no .safetensors files in this directory")
            }
        }
        var shards: [String: SafetensorsCheckpoint] = [:]
        var entries: [TensorEntry] = []
        for name in shardNames {
            let file = dir.appendingPathComponent(name).path
            guard FileManager.default.fileExists(atPath: file) else {
                throw SpQRError(.fileFormat, "\(index.path): shard \(name) is missing from \(path)")
            }
            let shard = try SafetensorsCheckpoint(path: file)
            shards[name] = shard
            for e in shard.tensors {
                if let expected = weightMap[e.name], expected != name { continue }
                entries.append(e)
            }
        }
        for (tensor, shard) in weightMap where !(shards[shard]?.tensors.contains { $0.name == tensor } ?? false) {
            throw SpQRError(.fileFormat, "\(index.path): \(tensor) is mapped to \(shard), which does not hold it")
        }
        self.shards = shards
        self.tensors = entries.sorted { $0.name < $1.name }
    }

    public func matrix(_ name: String) throws -> Matrix {
        let e = try entry(name)
        let shard = shards[(e.file as NSString).lastPathComponent]!
        return try shard.matrix(e.name)
    }

    /// The shard files.
    public var files: [String] { shards.values.map(\.path).sorted() }
}
