// What a whole-model quantization does: every linear layer of every block with its settings (a recipe's
// defaults and per-layer overrides, or one setting for all), in the SpQR reference's true-sequential order
// within a block (q/k/v, then o, then gate/up, then down). Every check that can fail is made here, before
// any work: a recipe layer the model lacks, a shape that differs, a layer outside the blocks.

import SpQRCore

/// The layers a whole-model quantization quantizes, in order, with their settings.
public struct QuantizationPlan: Sendable {
    /// One layer to quantize.
    public struct Layer: Sendable, Equatable {
        /// Hugging Face weight name (`model.layers.3.self_attn.q_proj.weight`).
        public let name: String
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
        for (name, layer) in recipe?.layers ?? [:] {
            guard let shape = known[name] else {
                let hint =
                    model.checkpointHas(name)
                    ? "it is not a linear layer of a block (embeddings, norms and the output layer are kept as they are)"
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
