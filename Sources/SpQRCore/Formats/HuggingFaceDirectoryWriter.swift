// Writing a Hugging Face checkpoint directory back with some weight matrices replaced: the same shard files
// (a single `model.safetensors`, shards listed by `model.safetensors.index.json`, or one safetensors file
// with config.json beside it) with the same tensor names, dtypes, shapes and data order and each shard's
// `__metadata__`; replaced tensors converted from float32 to their dtype (F32 exactly, F16 and BF16 rounded
// to nearest even, F64 exactly: FloatConversion.swift), every other tensor copied as its raw bytes. Every
// other file of the directory (config.json, generation_config.json, tokenizer files, the index, whose
// weight_map does not change) is copied byte for byte; subdirectories are not part of the checkpoint and
// are left out.
//
// The directory appears whole or not at all: everything is written into a temporary sibling directory,
// which is renamed into place once complete (over an empty directory, never over a non-empty one); any
// failure or a cancellation removes it.

import Foundation

/// Writes a Hugging Face safetensors directory with some weight matrices replaced.
public enum HuggingFaceDirectoryWriter {
    /// Writes `source` (a safetensors directory or single file opened from `sourceDirectory`) to the new
    /// directory `directory` with the tensors named in `replacing` converted to their source dtype, and
    /// every other file of `sourceDirectory` copied. `directory` must not exist or be empty; nothing appears
    /// there unless the whole directory was written. `progress` receives (items written, item count), an
    /// item being a tensor or a copied file.
    public static func write(
        source: any Checkpoint, sourceDirectory: String, replacing: TensorReplacements, to directory: String,
        cancel: CancellationToken? = nil, progress: ((Int, Int) -> Void)? = nil
    ) throws {
        let fm = FileManager.default
        let sourceDir = URL(fileURLWithPath: sourceDirectory).standardizedFileURL.path
        let shards = try shardFiles(of: source, in: sourceDir)
        let replaced = try replacing.entries(in: source)
        for e in replaced.values {
            let shard = shards.first { $0.name == (e.file as NSString).lastPathComponent }
            let dtype = try shard.map { try $0.file.info(e.storedName).dtype }
            guard let dtype = dtype ?? nil, dtype.isFloat else {
                throw SpQRError(
                    .unsupported,
                    "\(source.path): \(e.name) is stored as \(e.dtype); only F32, F16, BF16 and F64 tensors can be "
                        + "replaced. Nothing was written")
            }
        }
        let listing: [String]
        do { listing = try fm.contentsOfDirectory(atPath: sourceDir) } catch {
            throw SpQRError(
                .io,
                "\(sourceDir): cannot list the directory (\((error as NSError).localizedDescription)); check its permissions"
            )
        }
        let otherFiles = listing.sorted().filter { name in
            var dir: ObjCBool = false
            return !shards.contains { $0.name == name }
                && fm.fileExists(atPath: sourceDir + "/" + name, isDirectory: &dir) && !dir.boolValue
        }

        try AtomicDirectory.build(directory, cancel: cancel) { tmp in
            let total = shards.reduce(0) { $0 + $1.file.tensors.count } + otherFiles.count
            var written = 0
            func advance() {
                written += 1
                progress?(written, total)
            }
            for shard in shards {
                try writeShard(
                    shard.file, to: tmp + "/" + shard.name,
                    replaced: replaced.filter { ($0.value.file as NSString).lastPathComponent == shard.name },
                    replacing: replacing, cancel: cancel, advance: advance)
            }
            for name in otherFiles {
                try cancel?.check()
                let from = try FileBytes(path: sourceDir + "/" + name)
                let out = try AtomicFileStream(path: tmp + "/" + name)
                try out.copy(from: from, at: 0, count: from.size, what: name, cancel: cancel)
                try out.finish()
                advance()
            }
        }
    }

    /// The safetensors files of `source` by file name (sorted), each checked to lie in `directory`.
    static func shardFiles(of source: any Checkpoint, in directory: String) throws -> [(
        name: String, file: SafetensorsFile
    )] {
        let files: [SafetensorsFile]
        switch source {
        case let c as SafetensorsDirectoryCheckpoint:
            files = c.shards.values.map(\.file)
        case let c as SafetensorsCheckpoint:
            guard FileManager.default.fileExists(atPath: directory + "/config.json") else {
                throw SpQRError(
                    .invalidSetting,
                    "\(directory): no config.json beside \(c.path); a Hugging Face model directory needs one. "
                        + "Nothing was written")
            }
            files = [c.file]
        default:
            throw SpQRError(
                .invalidSetting,
                "\(source.path): not a Hugging Face safetensors checkpoint (a GGUF file is written with GGUFModelWriter)"
            )
        }
        for f in files
        where URL(fileURLWithPath: f.path).standardizedFileURL.deletingLastPathComponent().path != directory {
            throw SpQRError(
                .invalidSetting,
                "\(f.path): not in the source directory \(directory); pass the directory it was opened from")
        }
        return files.map { ((($0.path as NSString).lastPathComponent), $0) }.sorted { $0.name < $1.name }
    }

    /// One shard with the tensors of `replaced` (by name) converted to their dtype and the rest copied.
    static func writeShard(
        _ file: SafetensorsFile, to path: String, replaced: [String: TensorEntry], replacing: TensorReplacements,
        cancel: CancellationToken?, advance: () -> Void
    ) throws {
        var typed: [(String, SafetensorsDType, [Int])] = []
        for t in file.tensors {
            guard let dtype = t.dtype else {
                throw SpQRError(
                    .unsupported, "\(file.path): tensor \"\(t.name)\" has dtype \(t.dtypeName), which cannot be copied")
            }
            typed.append((t.name, dtype, t.shape))
        }
        let out = try SafetensorsStreamWriter(path: path, typed: typed, metadata: file.metadata)
        do {
            for t in file.tensors {
                try cancel?.check()
                if let e = replaced[t.name], let dtype = t.dtype {
                    let m = try replacing.matrix(for: e, source: file.path)
                    try FloatConversion.encode(m.values, as: dtype) { try out.appendBytes($0) }
                } else {
                    try out.appendBytes(
                        from: file.bytes, at: file.offset(of: t), count: t.end - t.begin, what: "tensor \"\(t.name)\"",
                        cancel: cancel)
                }
                advance()
            }
            try out.finish()
        } catch {
            out.abandon()
            throw error
        }
    }
}
