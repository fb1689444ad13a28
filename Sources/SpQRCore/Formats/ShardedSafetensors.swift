// A Hugging Face checkpoint directory: `model.safetensors.index.json` = {"metadata": {…}, "weight_map":
// {tensor name: shard file}} beside the shards (transformers' sharded save, huggingface_hub
// `split_torch_state_dict_into_shards`), or, without an index, the `.safetensors` files in the directory
// (a single `model.safetensors` being the usual case). Every shard is opened (headers only) when the
// checkpoint is listed; tensor data is read on demand from the shard that
// holds it.

import Foundation

/// A directory checkpoint (sharded or single-file safetensors).
public struct SafetensorsDirectoryCheckpoint: Checkpoint {
    public let path: String
    let table: TensorTable
    /// Shard files by file name.
    let shards: [String: SafetensorsCheckpoint]

    public var tensors: [TensorEntry] { table.entries }

    /// The index file's name.
    public static let indexName = "model.safetensors.index.json"

    /// Opens the directory at `path` (or the directory of an index file given directly).
    public init(path: String) throws {
        var dirPath = path
        if (path as NSString).lastPathComponent.hasSuffix(".index.json") {
            dirPath = (path as NSString).deletingLastPathComponent
        }
        if dirPath.isEmpty { dirPath = "." }
        self.path = dirPath
        let dir = URL(fileURLWithPath: dirPath)
        let indexPath = path.hasSuffix(".index.json") ? path : dir.appendingPathComponent(Self.indexName).path
        var shardNames: [String]
        var weightMap: [String: String] = [:]
        if FileManager.default.fileExists(atPath: indexPath) {
            func fail(_ m: String) -> SpQRError { SpQRError(.fileFormat, "\(indexPath): \(m)") }
            guard let data = FileManager.default.contents(atPath: indexPath) else {
                throw SpQRError(.io, "\(indexPath): cannot read the shard index; check its permissions")
            }
            guard data.count <= SafetensorsFile.maxHeaderBytes else {
                throw fail("\(data.count) bytes is too large for a shard index")
            }
            let json: Any
            do { json = try JSONSerialization.jsonObject(with: data) } catch {
                throw fail("not valid JSON (\((error as NSError).localizedDescription))")
            }
            guard let root = json as? [String: Any] else { throw fail("not a JSON object") }
            guard let map = root["weight_map"] as? [String: Any] else {
                throw fail("missing the \"weight_map\" object of tensor name → shard file")
            }
            for (k, v) in map {
                guard let f = v as? String, !f.isEmpty, !f.contains("/"), !f.hasPrefix(".") else {
                    throw fail("weight_map[\"\(k)\"] must name a file in the same directory, got \(v)")
                }
                weightMap[k] = f
            }
            guard !weightMap.isEmpty else { throw fail("weight_map is empty") }
            shardNames = Array(Set(weightMap.values)).sorted()
            for name in shardNames where !FileManager.default.fileExists(atPath: dir.appendingPathComponent(name).path)
            {
                let missing = shardNames.filter {
                    !FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).path)
                }
                throw fail(
                    "shard \(name) is missing from \(dirPath)"
                        + (missing.count > 1 ? " (\(missing.count) of \(shardNames.count) shards are missing)" : "")
                        + "; download every file the index lists")
            }
        } else {
            let listing: [String]
            do { listing = try FileManager.default.contentsOfDirectory(atPath: dirPath) } catch {
                throw SpQRError(
                    .io, "\(dirPath): cannot list the directory (\((error as NSError).localizedDescription))")
            }
            shardNames = listing.filter { $0.hasSuffix(".safetensors") && !$0.hasPrefix(".") }.sorted()
            guard !shardNames.isEmpty else {
                throw SpQRError(
                    .fileFormat, "\(dirPath): no \(Self.indexName) and no .safetensors files in this directory")
            }
        }
        var shards: [String: SafetensorsCheckpoint] = [:]
        var entries: [TensorEntry] = []
        for name in shardNames {
            let shard = try SafetensorsCheckpoint(path: dir.appendingPathComponent(name).path)
            shards[name] = shard
            for e in shard.tensors {
                // With an index, a tensor counts only in the shard the index names for it.
                if !weightMap.isEmpty && weightMap[e.name] != name { continue }
                entries.append(e)
            }
        }
        for (tensor, shard) in weightMap.sorted(by: { $0.key < $1.key })
        where !(shards[shard]?.file.contains(tensor) ?? false) {
            throw SpQRError(.fileFormat, "\(indexPath): \(tensor) is mapped to \(shard), which does not hold it")
        }
        self.shards = shards
        self.table = try TensorTable(entries, path: dirPath)
    }

    public func entry(_ name: String) throws -> TensorEntry { try table.entry(name, path: path) }

    public func matrix(_ name: String) throws -> Matrix {
        let e = try entry(name)
        return try shard(of: e).matrix(e.name)
    }

    public func statistics(_ name: String) throws -> TensorStatistics {
        let e = try entry(name)
        return try shard(of: e).statistics(e.name)
    }

    /// The open shard that holds `e`.
    func shard(of e: TensorEntry) throws -> SafetensorsCheckpoint {
        guard let shard = shards[(e.file as NSString).lastPathComponent] else {
            throw SpQRError(.io, "\(path): the shard holding \(e.name) (\(e.file)) is not open")
        }
        return shard
    }

    /// The shard files.
    public var files: [String] { shards.values.map(\.path).sorted() }
}
