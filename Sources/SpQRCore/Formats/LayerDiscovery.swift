// Finding the layers of a checkpoint: every 2-D weight, grouped by transformer block, and which weights
// read the same input (so one Hessian serves them: q/k/v of an attention block, gate/up of an MLP).
//
// The input site of a weight is the module path of the first layer that reads its input — the name the
// Hessian file format (docs/hessian-format.md) stores the shared matrix under.

import Synchronization

/// Layers of a checkpoint, grouped.
public enum LayerDiscovery {
    /// Sibling projections that share an input, first one first (Hugging Face and llama.cpp names).
    static let sharedInputFamilies: [[String]] = [
        ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"],
        ["attention.self.query", "attention.self.key", "attention.self.value"],
        ["attn.q_proj", "attn.k_proj", "attn.v_proj"],
        ["mlp.gate_proj", "mlp.up_proj"],
        ["attn_q", "attn_k", "attn_v"],
        ["ffn_gate", "ffn_up"],
    ]

    /// The module path of the first layer that reads the same input as `name`.
    public static func inputSite(of name: String) -> String {
        let module = name.hasSuffix(".weight") ? String(name.dropLast(".weight".count)) : name
        for family in sharedInputFamilies {
            for member in family where module.hasSuffix("." + member) || module == member {
                return String(module.dropLast(member.count)) + family[0]
            }
        }
        return module
    }

    /// Every 2-D tensor, grouped by block in numeric block order; tensors outside blocks come last.
    public static func blocks(_ checkpoint: any Checkpoint) -> [(block: String?, layers: [TensorEntry])] {
        var groups: [String?: [TensorEntry]] = [:]
        for t in checkpoint.tensors where t.shape.count == 2 {
            groups[LayerNames.block(of: t.name), default: []].append(t)
        }
        func number(_ block: String?) -> Int { block.flatMap { Int($0.split(separator: ".").last ?? "") } ?? Int.max }
        return groups.keys.sorted { (number($0), $0 ?? "~") < (number($1), $1 ?? "~") }.map { ($0, groups[$0]!.sorted { $0.name < $1.name }) }
    }

    /// Groups of two or more weights that read the same input.
    public static func sharedInputs(_ checkpoint: any Checkpoint) -> [String: [String]] {
        var sites: [String: [String]] = [:]
        for t in checkpoint.tensors where t.shape.count == 2 { sites[inputSite(of: t.name), default: []].append(t.name) }
        return sites.filter { $0.value.count > 1 }.mapValues { $0.sorted() }
    }
}

/// Per-tensor statistics computed on demand and kept for the life of the checkpoint (thread-safe).
public final class StatisticsCache: Sendable {
    private let cache = Mutex<[String: TensorStatistics]>([:])
    public let checkpoint: any Checkpoint

    public init(checkpoint: any Checkpoint) { self.checkpoint = checkpoint }

    /// The cached statistics of `name`, if computed.
    public func cached(_ name: String) -> TensorStatistics? { cache.withLock { $0[name] } }

    /// The statistics of `name`, computing them (reading the tensor) the first time.
    public func statistics(_ name: String) throws -> TensorStatistics {
        if let s = cached(name) { return s }
        let s = TensorStatistics(try checkpoint.matrix(name).values)
        cache.withLock { $0[name] = s }
        return s
    }
}
