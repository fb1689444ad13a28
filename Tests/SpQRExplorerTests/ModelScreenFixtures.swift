// Constructed fronts of the fixture checkpoint's six layers (ExplorerFixtures: blocks 0 and 1 × q_proj,
// k_proj, down_proj) over the standard menu around the default settings, for the model screen's reducer and
// snapshot tests without measuring anything. Each point's average bits are the reference formula's at its
// setting (BitCost) with 1% outliers where the threshold is finite; its error falls by 4× per extra bit,
// grows with the groupsize, is cut by a third with outliers, and is scaled per layer so the layers differ.

import Foundation

@testable import SpQRCore
@testable import SpQRExplorer

enum ModelScreenFixtures {
    /// Per-layer error scale: block 1's down_proj is the hardest, block 0's k_proj the easiest.
    static let scales: [String: Double] = [
        "model.layers.0.self_attn.q_proj.weight": 2, "model.layers.0.self_attn.k_proj.weight": 0.5,
        "model.layers.0.mlp.down_proj.weight": 4, "model.layers.1.self_attn.q_proj.weight": 3,
        "model.layers.1.self_attn.k_proj.weight": 1, "model.layers.1.mlp.down_proj.weight": 9,
    ]

    static func fronts(_ s: AppState) throws -> ModelFronts {
        let configs = try ModelScreenState.menu.configs(around: s.defaults)
        let layers = s.rows.filter(\.quantizable).map { row in
            let n = Double(row.shape.reduce(1, *))
            let points = configs.enumerated().map { k, c in
                let outliers = c.outlierThreshold.isFinite ? 0.01 : 0
                let bits = BitCost.referenceAverageBits(c, outlierShare: outliers)
                let error =
                    scales[row.name]! * n * pow(4, -Double(c.wbits)) * (1 + Double(c.groupsize ?? 256) / 64)
                    * (outliers > 0 ? 2.0 / 3 : 1)
                return FrontPoint(
                    setting: k, avgBits: bits, storageBits: Int((bits * n).rounded(.up)), error: error,
                    relProxyError: error / (n * scales[row.name]!), outlierFraction: outliers)
            }
            return LayerFront(layer: row.name, shape: row.shape, points: points)
        }
        return ModelFronts(
            menu: ModelScreenState.menu.description, configs: configs, layers: layers, keptParameters: 192,
            calibration: "identity", dataFree: true)
    }

    /// The fixture's layer list with the model screen open and the constructed fronts measured.
    static func measuredState(width: Int, height: Int) throws -> AppState {
        var s = ExplorerFixtures.state(width: width, height: height)
        _ = Reducer.reduce(&s, .terminal(.key(.char("M"))))
        let f = try fronts(s)
        _ = Reducer.reduce(&s, .model(.measured(id: s.modelScreen.measurementID, f)))
        return s
    }
}
