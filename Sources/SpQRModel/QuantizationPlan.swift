// What a whole-model quantization does: every linear layer of every block with its settings (a recipe's
// defaults and per-layer overrides, or one setting for all), in the SpQR reference's true-sequential order
// within a block (q/k/v, then o, then gate/up, then down). The embedding and the separate output layer are
// kept as they are unless the recipe names them; then the embedding comes first (its input is a one-hot
// token, so it has no Hessian: H = I) and the output layer last (its input is the final norm's output).
// Every check that can fail is made here, before any work: a recipe layer the model lacks, a shape that
// differs.

import SpQRCore

/// The layers a whole-model quantization quantizes, in order, with their settings.
public struct QuantizationPlan: Sendable {
    /// One layer to quantize.
    public struct Layer: Sendable, Equatable {
        /// Hugging Face weight name (`model.layers.3.self_attn.q_proj.weight`).
        public let name: String
        /// Its block; −1 for the embedding, the block count for the output layer.
        public let block: Int
        /// The input site it reads (`Decoder.sites(block:)`).
        public let site: String
        /// [out, in].
        public let shape: [Int]
        public let config: SpQRConfig
        /// Whether the recipe gives it overrides of its defaults.
        public let overridden: Bool

        public var parameters: Int { shape[0] * shape[1] }
    }

    public let layers: [Layer]

    /// The plan for `model`: `defaults` for every layer, with `recipe`'s overrides where it has them.
    /// A recipe layer that is not a linear layer of the model's blocks, or whose recorded shape differs
    /// from the model's, is refused.
    public static func make(_ model: Decoder, defaults: SpQRConfig, recipe: Recipe? = nil) throws -> QuantizationPlan {
        let c = model.config
        var layers: [Layer] = []
        var known: [String: [Int]] = [:]
        for b in 0..<c.blocks {
            for site in model.sites(block: b) {
                for name in site.weights {
                    let shape = BlockWeights.parts(c).first { BlockWeights.name($0.name, block: b) == name }!.shape
                    known[name] = shape
                    let config = try recipe?.config(for: name) ?? defaults
                    try config.validate()
                    let overridden = recipe.map { !($0.layers[name]?.overrides.isEmpty ?? true) } ?? false
                    layers.append(
                        Layer(
                            name: name, block: b, site: site.name, shape: shape, config: config,
                            overridden: overridden))
                }
            }
        }
        // The embedding and a separate output layer, only when the recipe names them.
        let outer: [(name: String, block: Int, site: String, shape: [Int])] = [
            (Self.embedding, -1, "model.embed_tokens", [c.vocabulary, c.hidden]),
            (Self.output, c.blocks, "lm_head", [c.vocabulary, c.hidden]),
        ]
        for o in outer where recipe?.layers[o.name] != nil {
            guard model.checkpointHas(o.name) else {
                throw SpQRError(
                    .invalidSetting,
                    "recipe layer \(o.name): the model ties its output layer to the embedding; name \(Self.embedding) instead"
                )
            }
            known[o.name] = o.shape
            let config = try recipe!.config(for: o.name)
            try config.validate()
            let layer = Layer(
                name: o.name, block: o.block, site: o.site, shape: o.shape, config: config,
                overridden: !(recipe!.layers[o.name]!.overrides.isEmpty))
            if o.block < 0 { layers.insert(layer, at: 0) } else { layers.append(layer) }
        }
        for (name, layer) in recipe?.layers ?? [:] {
            guard let shape = known[name] else {
                let hint =
                    model.checkpointHas(name)
                    ? "it is not a linear layer, the embedding or the output layer (norms are kept as they are)"
                    : "the model has no tensor of that name"
                throw SpQRError(
                    .invalidSetting,
                    "recipe layer \(name): \(hint); remove it from the recipe or use the recipe made for this model")
            }
            if !layer.shape.isEmpty && layer.shape != shape {
                throw SpQRError(
                    .shapeMismatch,
                    "recipe layer \(name) has shape \(layer.shape) but the model's is \(shape); the recipe was made for another model"
                )
            }
        }
        return QuantizationPlan(layers: layers)
    }

    /// Hugging Face names of the embedding and the output layer.
    public static let embedding = "model.embed_tokens.weight"
    public static let output = "lm_head.weight"

    /// The layers of block `b`, in order.
    public func layers(inBlock b: Int) -> [Layer] { layers.filter { $0.block == b } }

    /// The plan with `change` applied to every layer's settings (command-line flags over a recipe).
    public func applying(_ change: (SpQRConfig) throws -> SpQRConfig) throws -> QuantizationPlan {
        QuantizationPlan(
            layers: try layers.map {
                let c = try change($0.config)
                try c.validate()
                return Layer(
                    name: $0.name, block: $0.block, site: $0.site, shape: $0.shape, config: c,
                    overridden: $0.overridden)
            })
    }

    /// Parameters of all planned layers.
    public var parameters: Int { layers.reduce(0) { $0 + $1.parameters } }
}

extension Decoder {
    /// Whether the checkpoint holds a tensor of this Hugging Face name.
    public func checkpointHas(_ name: String) -> Bool { names[name] != nil }

    /// The checkpoint's float32 [out, in] matrix of Hugging Face weight `name` (not `weightOverride`'s).
    public func storedMatrix(_ name: String) throws -> Matrix {
        guard let stored = names[name] else {
            throw SpQRError(.fileFormat, "\(path): tensor \(name) is missing")
        }
        return try checkpoint.matrix(stored)
    }

    /// Every tensor of the checkpoint with its Hugging Face name.
    public var tensorEntries: [TensorEntry] { checkpoint.tensors }

    /// The opened checkpoint.
    public var source: any Checkpoint { checkpoint }
}
