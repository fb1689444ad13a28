// Measuring a whole model for bit allocation: every linear layer quantize-model quantizes (the blocks'
// q, k, v, o, gate, up and down; QuantizationPlan.swift) measured at every setting of a menu around base
// settings (LayerFront.measure: one factorisation per layer and preparation key), each with its own
// Hessian from the calibration source (a Hessian file from `calibrate`, an importance matrix, or H = I),
// as quantize-model uses them with --hessians or --imatrix. Layers run one after another, each on all
// cores (SpQR's GPTQ loop splits the rows, the factorisation uses OpenBLAS's threads); with a cache
// (FrontsCache.swift), layers measured before are read back and each new one is stored as it finishes.

import Foundation
import SpQRCore

/// Where a whole-model measurement is.
public struct FrontsProgress: Sendable, Equatable {
    /// The layer being measured (its tensor name) and its index among `layers`.
    public var layer: String
    public var layerIndex: Int
    public var layers: Int
    /// Settings of this layer done, out of `settings`.
    public var settingsDone: Int
    public var settings: Int
    /// Layers read from the cache instead of being measured.
    public var cachedLayers: Int

    /// The share of all the model's settings done, in [0, 1].
    public var fraction: Double {
        (Double(layerIndex) + Double(settingsDone) / Double(max(settings, 1))) / Double(max(layers, 1))
    }
}

/// Measures every quantizable layer of a model over a menu.
public enum ModelFrontsMeasurement {
    /// The fronts of every layer of `model`'s plan with `calibration`'s Hessians over `menu` around `base`.
    /// `progress` after every setting; `cancel` stops between GPTQ blocks (the layers finished so far stay
    /// in the cache).
    public static func measure(
        model: Decoder, calibration: any CalibrationSource, menu: SettingsMenu, base: SpQRConfig,
        cache: FrontsCache?, cancel: CancellationToken? = nil,
        progress: (@Sendable (FrontsProgress) -> Void)? = nil
    ) throws -> ModelFronts {
        let configs = try menu.configs(around: base)
        let plan = try QuantizationPlan.make(model, defaults: base)
        let all = model.tensorEntries.reduce(0) { $0 + $1.elementCount }
        var fronts = ModelFronts(
            menu: menu.description, configs: configs, layers: [], keptParameters: all - plan.parameters,
            calibration: calibration.label, dataFree: calibration.kind == .none)
        let cached = Dictionary(
            (cache?.load()?.layers ?? []).map { ($0.layer, $0) }, uniquingKeysWith: { a, _ in a })
        var fromCache = 0
        for (i, layer) in plan.layers.enumerated() {
            try cancel?.check()
            var state = FrontsProgress(
                layer: layer.name, layerIndex: i, layers: plan.layers.count, settingsDone: 0,
                settings: configs.count, cachedLayers: fromCache)
            if let known = cached[layer.name], known.shape == layer.shape, known.points.count == configs.count {
                fronts.layers.append(known)
                fromCache += 1
                state.cachedLayers = fromCache
                state.settingsDone = configs.count
                progress?(state)
                continue
            }
            progress?(state)
            let w = try model.storedMatrix(layer.name)
            let h = try calibration.hessian(forLayer: layer.name, inFeatures: layer.shape[1])
            let m = LayerMeasurement(name: layer.name, weights: w, hessian: h, calibration: calibration.label)
            fronts.layers.append(
                try LayerFront.measure(m, configs: configs, cancel: cancel) { done, _ in
                    state.settingsDone = done
                    progress?(state)
                })
            try cache?.store(fronts)
        }
        return fronts
    }
}
