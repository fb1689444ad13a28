// The weight matrices a whole-model writer puts in place of a checkpoint's own: Hugging Face names
// (as `TensorEntry.name` shows them, for GGUF and safetensors checkpoints alike) and a loader giving each
// as float32 [out, in] in the Hugging Face row order. The names and 2-D shapes are checked against the
// source before any byte is written; each matrix is loaded only when its tensor's turn comes, so a writer
// holds one tensor at a time.

import Foundation

/// Weight matrices to write in place of a checkpoint's own.
public struct TensorReplacements: Sendable {
    /// Hugging Face names of the replaced tensors (`model.layers.0.self_attn.q_proj.weight`).
    public let names: Set<String>
    /// The replacement of a named tensor: float32 [out, in] in Hugging Face row order.
    public let load: @Sendable (String) throws -> Matrix

    /// Replacements for `names`, each produced by `load` when it is written.
    public init(names: Set<String>, load: @escaping @Sendable (String) throws -> Matrix) {
        self.names = names
        self.load = load
    }

    /// No replacement: the writers then copy the source.
    public static let none = TensorReplacements(names: []) { name in
        throw SpQRError(.invalidSetting, "no replacement for \(name)")
    }

    /// The source entry of every replaced tensor, keyed by its stored name; an error names every replacement
    /// that is missing from `source` or is not a 2-D tensor there.
    func entries(in source: any Checkpoint) throws -> [String: TensorEntry] {
        var byStoredName: [String: TensorEntry] = [:]
        var problems: [String] = []
        for name in names.sorted() {
            guard let e = try? source.entry(name), e.name == name else {
                problems.append("\(name) is not a tensor of the source")
                continue
            }
            guard e.shape.count == 2 else {
                problems.append("\(name) has shape \(e.shape) in the source, not a 2-D weight matrix")
                continue
            }
            byStoredName[e.storedName] = e
        }
        guard problems.isEmpty else {
            throw SpQRError(
                .invalidSetting,
                "\(source.path): cannot write the model with these replacements: \(problems.joined(separator: "; ")); "
                    + "replace only 2-D tensors the source holds, by their Hugging Face names. Nothing was written")
        }
        return byStoredName
    }

    /// The replacement of `entry`, checked to have its shape.
    func matrix(for entry: TensorEntry, source: String) throws -> Matrix {
        let m = try load(entry.name)
        guard [m.rows, m.cols] == entry.shape, m.values.count == m.rows * m.cols else {
            throw SpQRError(
                .shapeMismatch,
                "\(source): the replacement of \(entry.name) is [\(m.rows), \(m.cols)], the source tensor is "
                    + "\(entry.shape); nothing was written")
        }
        return m
    }
}
