// Finding the layers of a checkpoint: every 2-D weight, grouped by transformer block, and which weights
// read the same input, so that one Hessian serves them (H depends only on a layer's input X).
//
// The input site of a weight is the module path of the first layer that reads its input, e.g.
// `model.layers.3.self_attn.q_proj` for q, k and v of that block — the name the Hessian file format
// (docs/hessian-format.md) stores the shared matrix under (`hessian.<site>`). Shared inputs are known
// by module name, per family of architectures:
//
//   decoder self-attention   self_attn.{q,k,v}_proj (Llama, Mistral, Qwen, Gemma, OPT, BART, Whisper),
//                            attn.{q,k,v}_proj (GPT-J), attention.{q,k,v}_proj (GPT-Neo)
//   encoder self-attention   attention.self.{query,key,value} (BERT, RoBERTa, MiniLM, ELECTRA),
//                            attention.self.{query,key,value}_proj (DeBERTa), attention.{query,key,value}
//                            (ALBERT), attention.{q,k,v}_lin (DistilBERT), SelfAttention.{q,k,v} (T5)
//   cross-attention          encoder_attn.{k,v}_proj (BART, Whisper), EncDecAttention.{k,v} (T5): k and v
//                            read the encoder output; q reads the decoder and stands alone
//   gated MLPs               gate_proj/up_proj (Llama family, also per expert), w1/w3 (Mixtral experts,
//                            Meta checkpoints), ffn_gate/ffn_up and their _shexp forms
//   llama.cpp names          attn_q/attn_k/attn_v
//
// Fused projections (GPT-2 c_attn, Falcon query_key_value, Phi-3 qkv_proj) are single weights already.
// Experts of a mixture each see only the tokens routed to them, so experts do not share Hessians.

/// A weight matrix of a checkpoint and the input it reads.
public struct DiscoveredLayer: Sendable, Equatable {
    /// The tensor.
    public let entry: TensorEntry
    /// The module path of the first layer that reads the same input (`hessian.<inputSite>` in a Hessian file).
    public let inputSite: String
    /// The other weights of the checkpoint that read the same input, by name.
    public let sharesInputWith: [String]

    /// The tensor's user-facing name.
    public var name: String { entry.name }
    /// [out, in].
    public var shape: [Int] { entry.shape }
    /// Whether it can be quantized (`TensorEntry.notQuantizableReason` says why not).
    public var isQuantizable: Bool { entry.isQuantizable }
}

/// The weights of one transformer block (or of no block: embeddings, heads).
public struct LayerBlock: Sendable, Equatable {
    /// The block's module path (`model.layers.3`), or nil for tensors outside blocks.
    public let name: String?
    /// Its 2-D weights, sorted by name.
    public let layers: [DiscoveredLayer]

    /// Groups of two or more weights of this block that read the same input, each sorted by name.
    public var sharedInputs: [[String]] {
        var seen = Set<String>()
        var groups: [[String]] = []
        for l in layers where !l.sharesInputWith.isEmpty && !seen.contains(l.inputSite) {
            seen.insert(l.inputSite)
            groups.append(([l.name] + l.sharesInputWith).sorted())
        }
        return groups
    }
}

/// Layers of a checkpoint, grouped.
public enum LayerDiscovery {
    /// Sibling modules that read the same input, the first one naming the site. Each member matches
    /// the end of a module path at a `.` boundary.
    static let sharedInputFamilies: [[String]] = [
        ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"],
        ["attn.q_proj", "attn.k_proj", "attn.v_proj"],
        ["attention.q_proj", "attention.k_proj", "attention.v_proj"],
        ["attention.self.query", "attention.self.key", "attention.self.value"],
        ["attention.self.query_proj", "attention.self.key_proj", "attention.self.value_proj"],
        ["attention.query", "attention.key", "attention.value"],
        ["attention.q_lin", "attention.k_lin", "attention.v_lin"],
        ["SelfAttention.q", "SelfAttention.k", "SelfAttention.v"],
        ["encoder_attn.k_proj", "encoder_attn.v_proj"],
        ["EncDecAttention.k", "EncDecAttention.v"],
        ["gate_proj", "up_proj"],
        ["w1", "w3"],
        ["attn_q", "attn_k", "attn_v"],
        ["ffn_gate", "ffn_up"],
        ["ffn_gate_shexp", "ffn_up_shexp"],
    ]

    /// The module path of the first layer that reads the same input as the weight `name`
    /// (`.weight` dropped; the module itself when it shares its input with no sibling).
    public static func inputSite(of name: String) -> String {
        let module = name.hasSuffix(".weight") ? String(name.dropLast(".weight".count)) : name
        for family in sharedInputFamilies {
            for member in family where module == member || module.hasSuffix("." + member) {
                return String(module.dropLast(member.count)) + family[0]
            }
        }
        return module
    }

    /// Every 2-D tensor of `checkpoint`, grouped by block in numeric block order (tensors outside blocks
    /// last), with the input each reads and the weights that share it. Only the header is used; no
    /// tensor data is read.
    public static func blocks(_ checkpoint: any Checkpoint) -> [LayerBlock] {
        let matrices = checkpoint.tensors.filter { $0.shape.count == 2 }
        var sites: [String: [String]] = [:]
        for t in matrices { sites[inputSite(of: t.name), default: []].append(t.name) }
        var groups: [String?: [DiscoveredLayer]] = [:]
        for t in matrices {
            let site = inputSite(of: t.name)
            let layer = DiscoveredLayer(
                entry: t, inputSite: site, sharesInputWith: sites[site, default: []].filter { $0 != t.name }.sorted())
            groups[LayerNames.block(of: t.name), default: []].append(layer)
        }
        func number(_ block: String?) -> Int { block.flatMap { Int($0.split(separator: ".").last ?? "") } ?? Int.max }
        return groups.keys.sorted { (number($0), $0 ?? "~") < (number($1), $1 ?? "~") }
            .map { LayerBlock(name: $0, layers: groups[$0]!.sorted { $0.name < $1.name }) }
    }

    /// Groups of two or more weights that read the same input, by input site.
    public static func sharedInputs(_ checkpoint: any Checkpoint) -> [String: [String]] {
        var sites: [String: [String]] = [:]
        for t in checkpoint.tensors where t.shape.count == 2 {
            sites[inputSite(of: t.name), default: []].append(t.name)
        }
        return sites.filter { $0.value.count > 1 }.mapValues { $0.sorted() }
    }
}

/// Per-tensor statistics (std, max |w|, kurtosis: `TensorStatistics`, in bounded memory through
/// `Checkpoint.statistics`) computed on demand and kept for
/// the life of the checkpoint. Thread-safe: concurrent requests for the same tensor read it once (the
/// others wait for that result); `cached` never waits.
public final class StatisticsCache: Sendable {
    /// One tensor's slot: whoever locks it first computes, later callers find the result.
    private final class Slot: Sendable {
        let value = Locked<TensorStatistics?>(nil)
    }

    private let slots = Locked<[String: Slot]>([:])
    private let done = Locked<[String: TensorStatistics]>([:])
    public let checkpoint: any Checkpoint

    public init(checkpoint: any Checkpoint) { self.checkpoint = checkpoint }

    /// The cached statistics of `name` (user-facing or stored name), if computed.
    public func cached(_ name: String) -> TensorStatistics? {
        guard let key = try? checkpoint.entry(name).name else { return nil }
        return done.withLock { $0[key] }
    }

    /// The statistics of `name`, reading the tensor the first time. A failure is not cached.
    public func statistics(_ name: String) throws -> TensorStatistics {
        let key = try checkpoint.entry(name).name
        let slot = slots.withLock { slots in
            if let s = slots[key] { return s }
            let s = Slot()
            slots[key] = s
            return s
        }
        return try slot.value.withLock { value in
            if let value { return value }
            let s = try checkpoint.statistics(key)
            value = s
            done.withLock { $0[key] = s }
            return s
        }
    }
}
