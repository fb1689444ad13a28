// A small real checkpoint and a quantized layer for the explorer's tests.

import Foundation
import SpQRTestSupport

@testable import SpQRCore
@testable import SpQRExplorer

enum ExplorerFixtures {
    /// A checkpoint with two blocks of small layers and a norm, written once per test process.
    static let checkpointPath: String = {
        let path = ((try? scratchDirectory("spqr-explorer-fixture")) ?? NSTemporaryDirectory()) + "/tiny.safetensors"
        var tensors: [SafetensorsWriter.Tensor] = []
        for (block, seed) in [(0, UInt64(1)), (1, UInt64(2))] {
            for (name, out, inp) in [
                ("self_attn.q_proj", 48, 96), ("self_attn.k_proj", 16, 96), ("mlp.down_proj", 96, 64),
            ] {
                let w = layer(out: out, in: inp, seed: seed &* 31 &+ UInt64(out))
                tensors.append(.f32("model.layers.\(block).\(name).weight", shape: [out, inp], w.values))
            }
            tensors.append(
                .f32("model.layers.\(block).input_layernorm.weight", shape: [96], [Float](repeating: 1, count: 96)))
        }
        try! SafetensorsWriter.write(tensors, to: path)
        return path
    }()

    static var checkpoint: any Checkpoint { try! ModelFiles.openCheckpoint(checkpointPath) }

    /// Deterministic heavy-tailed weights: a uniform sample over a smaller one.
    static func layer(out: Int, in n: Int, seed: UInt64) -> Matrix {
        var g = SeededGenerator(seed: seed)
        func next() -> Float { Float(Double(g.next() >> 11) / Double(1 << 53)) - 0.5 }
        var m = Matrix(rows: out, cols: n)
        for k in m.values.indices { m.values[k] = 0.05 * next() / max(0.1, abs(next()) * 2) }
        return m
    }

    static func state(width: Int, height: Int, capabilities: TerminalCapabilities = .full) -> AppState {
        var s = ExplorerApp.initialState(
            checkpoint: checkpoint, calibration: IdentityCalibration(), settings: SpQRConfig(),
            width: width, height: height, capabilities: capabilities)
        s.checkpointPath = "tiny.safetensors"  // the temporary directory differs between runs
        return s
    }

    /// A state showing `model.layers.0.self_attn.q_proj.weight` fully quantized, with baselines (and the
    /// equal-bit ones when `searched`).
    static func layerState(
        width: Int, height: Int, capabilities: TerminalCapabilities = .full,
        searched: Bool = true
    ) throws -> AppState {
        var s = state(width: width, height: height, capabilities: capabilities)
        let name = "model.layers.0.self_attn.q_proj.weight"
        let row = s.rows.first { $0.name == name }!
        _ = Reducer.open(&s, row)
        let w = try checkpoint.matrix(name)
        let p = try PreparedLayer(name: name, weights: w, hessian: Hessian.identity(w.cols), config: s.settings)
        let r = try SpQR.run(p, config: s.settings)
        let b = try SpQR.baselines(p, config: s.settings)
        _ = Reducer.reduce(
            &s,
            .result(
                generation: s.generation, layer: name, result: r,
                report: LayerReport(layer: name, result: r, baselines: nil), maps: HeatmapMaps(result: r, weights: w)))
        _ = Reducer.reduce(
            &s,
            .baselines(
                generation: s.generation, layer: name, baselines: b,
                report: LayerReport(layer: name, result: r, baselines: b)))
        if searched {
            let e = try EqualBitSearch.search(p, spqr: r)
            _ = Reducer.reduce(
                &s,
                .equalBitBaselines(
                    generation: s.generation, layer: name, e,
                    report: LayerReport(layer: name, result: r, baselines: b, equalBits: e)))
        }
        s.message = nil
        return s
    }
}
