// A GGUF file as a checkpoint: llama.cpp tensor names mapped to the Hugging Face ones for the llama
// architecture family, and the rotary row order of q/k undone.
//
// llama.cpp's converter (convert_hf_to_gguf.py, LlamaModel.permute) reorders the rows of q_proj and
// k_proj head by head: with D rows per head, HF row h·D + t·D/2 + i becomes GGUF row h·D + 2i + t
// (t ∈ {0, 1}, i < D/2), using n_head for q and n_head_kv for k. Loading applies the inverse, so that
// rows, heads and any recipe refer to the same rows as the Hugging Face checkpoint.

import Foundation

/// A GGUF checkpoint.
public struct GGUFCheckpoint: Checkpoint {
    public let path: String
    public let file: GGUFFile
    public let tensors: [TensorEntry]
    /// `general.architecture`.
    public let architecture: String?

    static let llamaFamily: Set<String> = ["llama", "mistral", "smollm", "granite"]

    static let blockNames: [String: String] = [
        "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
        "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
    ]

    /// The Hugging Face name of a llama.cpp tensor name (unchanged when unknown).
    public static func huggingFaceName(_ name: String) -> String {
        switch name {
        case "token_embd.weight": return "model.embed_tokens.weight"
        case "output_norm.weight": return "model.norm.weight"
        case "output.weight": return "lm_head.weight"
        default: break
        }
        let parts = name.split(separator: ".")
        guard parts.count == 4, parts[0] == "blk", let n = Int(parts[1]), let hf = blockNames[String(parts[2])] else { return name }
        return "model.layers.\(n).\(hf).\(parts[3])"
    }

    /// Opens the file and lists its tensors.
    public init(path: String) throws {
        self.path = path
        let file = try GGUFFile(path: path)
        self.file = file
        let arch = file.metadata["general.architecture"]?.stringValue
        self.architecture = arch
        let mapNames = arch.map(Self.llamaFamily.contains) ?? false
        self.tensors = file.tensors.map { t in
            let name = mapNames ? Self.huggingFaceName(t.name) : t.name
            var reason: String?
            if t.dimensions.count != 2 {
                reason = "\(t.dimensions.count)-D tensor (only 2-D weight matrices are quantized)"
            } else if !t.type.isSupported {
                reason = "type \(t.type) cannot be dequantized here"
            }
            var notes: [String] = []
            if t.type.isQuantized {
                notes.append("stored as \(t.type) (\(String(format: "%.2f", t.type.bitsPerWeight)) bits/weight): SpQR re-quantizes already-quantized weights")
            }
            if mapNames && Self.rotaryHeads(t.name, file) != nil {
                notes.append("rows returned from llama.cpp's rotary order to the Hugging Face order")
            }
            return TensorEntry(name: name, storedName: t.name, shape: t.shape, dtype: t.type.name,
                               bitsPerWeight: t.type.bitsPerWeight, notQuantizableReason: reason, file: path,
                               note: notes.isEmpty ? nil : notes.joined(separator: "; "))
        }.sorted { $0.name < $1.name }
    }

    /// The head count whose rotary permutation applies to this tensor, if any.
    static func rotaryHeads(_ storedName: String, _ file: GGUFFile) -> Int? {
        guard let arch = file.metadata["general.architecture"]?.stringValue, llamaFamily.contains(arch) else { return nil }
        let heads = file.metadata["\(arch).attention.head_count"]?.intValue
        let kvHeads = file.metadata["\(arch).attention.head_count_kv"]?.intValue ?? heads
        if storedName.hasSuffix(".attn_q.weight") { return heads }
        if storedName.hasSuffix(".attn_k.weight") { return kvHeads }
        return nil
    }

    public func matrix(_ name: String) throws -> Matrix {
        let e = try entry(name)
        if let reason = e.notQuantizableReason {
            throw SpQRError(.unsupported, "\(path): tensor \"\(name)\" cannot be quantized: \(reason)")
        }
        let rows = e.shape[0], cols = e.shape[1]
        var values = try file.floats(e.storedName)
        if let heads = Self.rotaryHeads(e.storedName, file), heads > 0 {
            guard rows % (2 * heads) == 0 else {
                throw SpQRError(.fileFormat, "\(path): \(e.storedName) has \(rows) rows, not a multiple of 2 × \(heads) heads; cannot undo the rotary order")
            }
            let d = rows / heads
            var out = values
            for h in 0..<heads {
                for t in 0..<2 {
                    for i in 0..<(d / 2) {
                        let src = (h * d + 2 * i + t) * cols, dst = (h * d + t * d / 2 + i) * cols
                        for c in 0..<cols { out[dst + c] = values[src + c] }
                    }
                }
            }
            values = out
        }
        return Matrix(rows: rows, cols: cols, values: values)
    }
}
