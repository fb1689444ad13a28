// A layer's weight in the model's loss (Sources/SpQRModel/SensitivityMeasurement.swift measures it):
//
//   KL_l = mean KL(p_base ‖ p_l) over the scored positions of some text, with layer l alone quantized at
//          a reference setting and every other weight as stored
//   e_l  = tr(ΔW_l H_l ΔW_lᵀ) at that setting (the layer's absolute proxy loss, LayerFront.swift)
//   s_l  = KL_l / e_l   (the model's KL per unit of the layer's proxy loss)
//
// For small errors the model's KL is quadratic in ΔW_l, as the proxy loss is, so s_l converts the proxy
// loss of any setting of layer l into predicted KL: with sensitivities the allocator minimises
// Σ_l s_l · e_l(k_l), and the layers the model needs most get more bits than their proxy loss alone
// would give them.

/// One layer's measured sensitivity.
public struct LayerSensitivity: Sendable, Equatable, Codable {
    /// The layer's tensor name.
    public var layer: String
    /// Mean KL(base ‖ model) over the scored positions with this layer alone quantized at the reference.
    public var kl: Double
    /// The layer's absolute proxy loss tr(ΔW H ΔWᵀ) at the reference setting.
    public var proxyLoss: Double

    public init(layer: String, kl: Double, proxyLoss: Double) {
        self.layer = layer
        self.kl = kl
        self.proxyLoss = proxyLoss
    }

    /// KL per unit of proxy loss, s_l (0 when the reference leaves the layer exact).
    public var weight: Double { proxyLoss > 0 ? kl / proxyLoss : 0 }

    enum CodingKeys: String, CodingKey {
        case layer, kl
        case proxyLoss = "proxy_loss"
    }
}

/// Every layer's sensitivity and how it was measured.
public struct ModelSensitivity: Sendable, Equatable, Codable {
    /// What was run: the text, its windows and the reference setting, as reports name it.
    public var source: String
    /// One per layer of the fronts, in their order.
    public var layers: [LayerSensitivity]

    public init(source: String, layers: [LayerSensitivity]) {
        self.source = source
        self.layers = layers
    }
}
