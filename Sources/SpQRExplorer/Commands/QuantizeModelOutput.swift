// Where quantize-model writes: the source's own format (a GGUF file with the quantized layers in F16 or
// F32, or a Hugging Face directory in the source dtype) or the Hugging Face SpQR format. Everything that
// can refuse the output is checked before any layer is quantized.

import Foundation
import SpQRCore
import SpQRModel

struct ModelOutput {
    let format: ModelOutputFormat
    let weightType: GGUFWeightType
    let decoder: Decoder
    let plan: QuantizationPlan
    let out: String

    init(format: ModelOutputFormat, weightType: GGUFWeightType, decoder: Decoder, plan: QuantizationPlan, out: String)
        throws
    {
        self.format = format
        self.weightType = weightType
        self.decoder = decoder
        self.plan = plan
        self.out = out
        if FileManager.default.fileExists(atPath: out) {
            throw SpQRError(.io, "\(out) already exists; choose another output path or remove it")
        }
        let parent = ((out as NSString).deletingLastPathComponent as NSString).standardizingPath
        guard FileManager.default.isWritableFile(atPath: parent.isEmpty ? "." : parent) else {
            throw SpQRError(.io, "\(parent): the output's directory is missing or not writable; choose another --out")
        }
        if format == .spqrHF {
            for name in [QuantizationPlan.embedding, QuantizationPlan.output]
            where plan.layers.contains(where: { $0.name == name }) {
                throw SpQRError(
                    .invalidSetting,
                    "--format spqr-hf keeps \(name) in fp16 (transformers' SpQR loader quantizes only the blocks' linear layers); remove it from the recipe or write --format source"
                )
            }
            for layer in plan.layers {
                do {
                    try SpQRHF.check(layer.config)
                    try SpQRHF.check(rows: layer.shape[0], cols: layer.shape[1], name: layer.name)
                } catch let e as SpQRError {
                    throw SpQRError(e.kind, "--format spqr-hf, layer \(layer.name): \(e.message)")
                }
            }
        }
    }

    /// What the journal keeps per layer beyond the dequantized weights: the packed spqr-hf tensors.
    func journalTensors(_ layer: QuantizationPlan.Layer, _ result: SpQRResult) throws -> [SafetensorsWriter.Tensor] {
        guard format == .spqrHF else { return [] }
        let p = try SpQRHF.pack(result)
        func bytes<T>(_ a: [T]) -> Data { a.withUnsafeBytes { Data($0) } }
        return [
            SafetensorsWriter.Tensor(
                name: "dense_weights", dtype: .I64, shape: [p.denseWeights.count], bytes: bytes(p.denseWeights)),
            SafetensorsWriter.Tensor(
                name: "row_offsets", dtype: .I32, shape: [p.rowOffsets.count], bytes: bytes(p.rowOffsets)),
            SafetensorsWriter.Tensor(name: "col_vals", dtype: .I32, shape: [p.colVals.count], bytes: bytes(p.colVals)),
            SafetensorsWriter.Tensor(name: "in_perm", dtype: .I32, shape: [p.inPerm.count], bytes: bytes(p.inPerm)),
        ]
    }

    /// Writes the output from the journal; returns its size in bytes.
    func write(journal: QuantizationJournal, cancel: CancellationToken) throws -> Int {
        let names = Set(plan.layers.map(\.name))
        let shapes = Dictionary(uniqueKeysWithValues: plan.layers.map { ($0.name, $0.shape) })
        let replacements = TensorReplacements(names: names) { name in
            let shape = shapes[name]!
            return Matrix(rows: shape[0], cols: shape[1], values: try journal.load(name).weights)
        }
        let progress = StderrProgress("writing")
        defer { progress.finish() }
        let show: (Int, Int) -> Void = { done, total in progress.step(done, of: total, "tensors") }
        switch format {
        case .source:
            if let gguf = decoder.source as? GGUFCheckpoint {
                try GGUFModelWriter.write(
                    source: gguf, replacing: replacements, weightType: weightType, to: out,
                    cancel: cancel, progress: show)
            } else {
                try HuggingFaceDirectoryWriter.write(
                    source: decoder.source, sourceDirectory: sourceDirectory, replacing: replacements, to: out,
                    cancel: cancel, progress: show)
            }
        case .spqrHF:
            let base: [String: Any]
            if decoder.source is GGUFCheckpoint {
                base = decoder.config.huggingFaceConfig()
            } else {
                let path = (sourceDirectory as NSString).appendingPathComponent("config.json")
                guard let data = FileManager.default.contents(atPath: path),
                    let object = try JSONSerialization.jsonObject(with: data) as? [String: Any]
                else { throw SpQRError(.fileFormat, "\(path): cannot read the model's config.json") }
                base = object
            }
            try SpQRHFWriter.write(
                source: decoder.source, baseConfig: base, quantized: plan.layers.map(\.name),
                packed: { name in
                    let f = try journal.open(name)
                    let shape = shapes[name]!
                    func int32(_ t: String) throws -> [Int32] {
                        try f.integers(t).map { Int32(truncatingIfNeeded: $0) }
                    }
                    return try SpQRHFLayer(
                        rows: shape[0], cols: shape[1],
                        denseWeights: try f.integers("dense_weights").map { UInt64(bitPattern: Int64($0)) },
                        rowOffsets: try int32("row_offsets"), colVals: try int32("col_vals"),
                        inPerm: try int32("in_perm"), name: journal.directory + ": " + name)
                }, to: out, cancel: cancel)
        }
        return Self.size(of: out)
    }

    /// The directory of a safetensors source (the path itself, or the one holding the file).
    var sourceDirectory: String {
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: decoder.path, isDirectory: &isDirectory)
        let dir = isDirectory.boolValue ? decoder.path : (decoder.path as NSString).deletingLastPathComponent
        return dir.isEmpty ? "." : dir
    }

    /// Bytes of a file, or of every file under a directory.
    static func size(of path: String) -> Int {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { return 0 }
        guard isDirectory.boolValue else { return (try? fm.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
        return (fm.subpaths(atPath: path) ?? []).reduce(0) { sum, sub in
            sum + ((try? fm.attributesOfItem(atPath: path + "/" + sub)[.size] as? Int) ?? 0)
        }
    }
}
