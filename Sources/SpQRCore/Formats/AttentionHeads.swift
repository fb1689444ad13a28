// A model's attention heads as its files describe them, for naming a layer's heads:
//
//     head_dim = head_dim (or <arch>.attention.key_length), else hidden size / number of heads
//     q_proj: heads · head_dim rows   k_proj, v_proj: kv_heads · head_dim rows   o_proj: heads · head_dim columns
//
// A GGUF file gives `<arch>.attention.head_count`, `.head_count_kv`, `.key_length` and `.embedding_length`
// (llama.cpp's keys, as ModelConfig reads them); a safetensors file or directory gives them through the
// config.json beside it (`num_attention_heads`, `num_key_value_heads`, `head_dim`, `hidden_size`, as
// transformers writes them). Only the head counts are read, so a file holding a single block (the
// bundled samples) has heads too.

import Foundation

/// Heads, KV heads and head dimension of a model.
public struct AttentionHeads: Sendable, Equatable {
    public var heads: Int
    public var kvHeads: Int
    public var headDim: Int

    public init(heads: Int, kvHeads: Int, headDim: Int) {
        self.heads = heads
        self.kvHeads = kvHeads
        self.headDim = headDim
    }

    /// The heads of `checkpoint`'s model, or nil when its files do not say (or say something inconsistent).
    public static func read(_ checkpoint: any Checkpoint) -> AttentionHeads? {
        if let g = checkpoint as? GGUFCheckpoint {
            guard let arch = g.architecture else { return nil }
            func int(_ key: String) -> Int? {
                guard let v = g.file.metadata["\(arch).\(key)"] else { return nil }
                if let i = v.intValue { return i }
                // Per-layer values: usable when every layer has the same.
                guard let a = v.arrayValue, a.count > 0, let first = a[0].intValue,
                    (0..<a.count).allSatisfy({ a[$0].intValue == first })
                else { return nil }
                return first
            }
            guard let heads = int("attention.head_count") else { return nil }
            return make(
                heads: heads, kvHeads: int("attention.head_count_kv"), headDim: int("attention.key_length"),
                hidden: int("embedding_length"))
        }
        var isDirectory: ObjCBool = false
        let path = checkpoint.path
        let dir =
            FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
            ? path : (path as NSString).deletingLastPathComponent
        let config = (dir.isEmpty ? "." : dir) + "/config.json"
        guard let data = FileManager.default.contents(atPath: config),
            let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            let heads = json["num_attention_heads"] as? Int
        else { return nil }
        return make(
            heads: heads, kvHeads: json["num_key_value_heads"] as? Int, headDim: json["head_dim"] as? Int,
            hidden: json["hidden_size"] as? Int)
    }

    static func make(heads: Int, kvHeads: Int?, headDim: Int?, hidden: Int?) -> AttentionHeads? {
        let kv = kvHeads ?? heads
        guard heads > 0, kv > 0, let d = headDim ?? hidden.map({ $0 / heads }), d > 0 else { return nil }
        return AttentionHeads(heads: heads, kvHeads: kv, headDim: d)
    }

    /// How the layer `name` of shape [out, in] splits into heads: rows for q/k/v, columns for the output
    /// projection (Hugging Face names: LLaMA's `self_attn.{q,k,v,o}_proj`, BERT's
    /// `attention.self.{query,key,value}` and `attention.output.dense`); nil for other layers or when the
    /// shape does not match the head counts.
    public func layout(layer name: String, shape: [Int]) -> HeadLayout? {
        guard shape.count == 2 else { return nil }
        func has(_ parts: String...) -> Bool { parts.contains { name.contains($0) } }
        if has("q_proj", "attention.self.query") {
            return shape[0] == heads * headDim ? HeadLayout(axis: .rows, headDim: headDim) : nil
        }
        if has("k_proj", "v_proj", "attention.self.key", "attention.self.value") {
            return shape[0] == kvHeads * headDim ? HeadLayout(axis: .rows, headDim: headDim) : nil
        }
        if has("o_proj", "attention.output.dense") {
            return shape[1] == heads * headDim ? HeadLayout(axis: .columns, headDim: headDim) : nil
        }
        return nil
    }
}
