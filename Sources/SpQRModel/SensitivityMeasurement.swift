// Measuring each layer's sensitivity on the model (SpQRCore/Allocation/LayerSensitivity.swift defines
// s_l = KL_l / e_l): the layer alone quantized at a reference setting, every other weight as stored, the
// windows run through the model and compared, position by position, with the model as stored:
//
//   KL_l = mean over scored positions i of  c_i − Σ_v p_base(v|i) z_v + S_i · logsumexp(z)
//          c_i = Σ_v p_base log p_base,  S_i = Σ_v p_base
//
// (z: the logits of position i with layer l quantized; S_i is 1 up to float32 rounding and kept so the
// identity KL = Σ p_base (log p_base − log softmax z) is exact for the stored p_base). The block inputs of
// the model as stored are kept, so layer l of block b runs blocks b… only.

import Foundation
import SpQRCore

/// Where a sensitivity measurement is.
public struct SensitivityProgress: Sendable, Equatable {
    /// The layer being measured, its index among `layers`.
    public var layer: String
    public var layerIndex: Int
    public var layers: Int
}

/// Measures every planned layer's sensitivity on windows of text.
public enum SensitivityMeasurement {
    /// For each layer of `layers` (block layers of `model`, in order): quantized alone at `reference`
    /// with `calibration`'s Hessian, the windows run from its block on, the mean KL from the model as
    /// stored. Layers in `known` (measured before on the same inputs) are taken from it; `each` receives
    /// every newly measured one (to store it). `progress` before each layer; `cancel` stops between blocks.
    /// A run that would keep more than `memoryLimit` bytes (default: half the machine's memory) is refused
    /// before anything is allocated.
    public static func measure(
        model: Decoder, layers: [QuantizationPlan.Layer], calibration: any CalibrationSource,
        reference: SpQRConfig, windows: [[Int]], known: [String: LayerSensitivity] = [:],
        memoryLimit: Int? = nil, cancel: CancellationToken? = nil,
        progress: ((SensitivityProgress) -> Void)? = nil, each: ((LayerSensitivity) throws -> Void)? = nil
    ) throws -> [LayerSensitivity] {
        let c = model.config
        guard let t = windows.first?.count, t > 1, windows.allSatisfy({ $0.count == t }) else {
            throw SpQRError(.invalidSetting, "sensitivity: no window of at least 2 tokens to run")
        }
        for l in layers where !(0..<c.blocks).contains(l.block) {
            throw SpQRError(
                .invalidSetting,
                "sensitivity: \(l.name) is not a block layer; only the blocks' linear layers are measured")
        }
        try reference.validate()
        if layers.allSatisfy({ known[$0.name] != nil }) { return layers.map { known[$0.name]! } }
        // Kept for the whole run: every block's input and the base distribution of every scored position.
        let tokens = windows.count * t
        let kept = 4 * (c.blocks * tokens * c.hidden + windows.count * (t - 1) * c.vocabulary)
        let memory = memoryLimit ?? Int(min(ProcessInfo.processInfo.physicalMemory / 2, UInt64(Int.max)))
        guard kept <= memory else {
            throw SpQRError(
                .invalidSetting,
                "sensitivity: \(windows.count) windows of \(t) tokens would keep \(MemoryBudget.format(kept)) (every block's input and each position's distribution over \(c.vocabulary) tokens), more than the \(MemoryBudget.format(memory)) allowed (\(memoryLimit == nil ? "half of this machine's memory" : "the limit set for this run")); use fewer --nsamples or a smaller --seqlen"
            )
        }
        model.weightOverride = nil
        // The model as stored: every block's input, and each position's base distribution.
        let x = try model.embed(windows)
        var inputs: [FloatBuffer] = []
        let size = x.windows * x.length * x.width
        for b in 0..<c.blocks {
            try cancel?.check()
            let copy = FloatBuffer(size)
            copy.pointer.update(from: x.data.pointer, count: size)
            inputs.append(copy)
            try model.runBlock(b, on: x, cancel: cancel)
        }
        let base = BaseDistributions(model, x, windows)

        var out: [LayerSensitivity] = []
        defer { model.weightOverride = nil }
        for (i, layer) in layers.enumerated() {
            if let k = known[layer.name] {
                out.append(k)
                continue
            }
            try cancel?.check()
            progress?(SensitivityProgress(layer: layer.name, layerIndex: i, layers: layers.count))
            let w = try model.storedMatrix(layer.name)
            let h = try calibration.hessian(forLayer: layer.name, inFeatures: layer.shape[1])
            let m = LayerMeasurement(name: layer.name, weights: w, hessian: h, calibration: calibration.label)
            let measured = try m.measure(reference, steps: [.fullLayer], cancel: cancel)
            let quadratic = try m.prepare(for: reference).weightQuadratic
            let q = measured.result.dequantized.values
            model.weightOverride = { name, buffer in
                guard name == layer.name else { return false }
                _ = buffer.update(fromContentsOf: q)
                return true
            }
            let y = Hidden(windows: x.windows, length: x.length, width: x.width)
            y.data.pointer.update(from: inputs[layer.block].pointer, count: size)
            for b in layer.block..<c.blocks { try model.runBlock(b, on: y, cancel: cancel) }
            model.weightOverride = nil
            let measuredLayer = LayerSensitivity(
                layer: layer.name, kl: base.meanKL(model, y),
                proxyLoss: measured.result.figures.relProxyError * quadratic)
            out.append(measuredLayer)
            try each?(measuredLayer)
        }
        return out
    }
}

/// The base model's distribution at every scored position (all but each window's last): p_base, c_i and
/// S_i of the formula above.
struct BaseDistributions {
    let positions: Int
    let vocabulary: Int
    /// p_base, [windows · (length − 1), vocabulary].
    let p: FloatBuffer
    /// c_i = Σ p log p and S_i = Σ p, per scored position.
    let negEntropy: [Double]
    let mass: [Double]

    init(_ model: Decoder, _ x: Hidden, _ windows: [[Int]]) {
        let v = model.config.vocabulary
        let scored = x.length - 1
        positions = x.windows * scored
        vocabulary = v
        p = FloatBuffer(positions * v)
        var c = [Double](repeating: 0, count: positions)
        var s = c
        let logits = FloatBuffer(x.length * v)
        for w in 0..<x.windows {
            Perplexity.windowLogits(model, x, w, into: logits)
            for i in 0..<scored {
                let z = logits.pointer + i * v
                let (lse, _) = Perplexity.logSumExp(z, v)
                let row = p.pointer + (w * scored + i) * v
                var ci = 0.0
                var si = 0.0
                for j in 0..<v {
                    let lp = Double(z[j]) - lse
                    let pj = Float(Foundation.exp(lp))
                    row[j] = pj
                    ci += Double(pj) * lp
                    si += Double(pj)
                }
                c[w * scored + i] = ci
                s[w * scored + i] = si
            }
        }
        negEntropy = c
        mass = s
    }

    /// Mean over scored positions of KL(p_base ‖ softmax(z)), z the logits of `y`'s final states.
    func meanKL(_ model: Decoder, _ y: Hidden) -> Double {
        let v = vocabulary
        let scored = y.length - 1
        let logits = FloatBuffer(y.length * v)
        var total = 0.0
        for w in 0..<y.windows {
            Perplexity.windowLogits(model, y, w, into: logits)
            let kl = Locked([Double](repeating: 0, count: scored))
            let lp = SendablePointer(logits.pointer)
            let pp = SendablePointer(p.pointer)
            let (c, s) = (negEntropy, mass)
            let parts = Kernels.tiles(scored, minimum: 16)
            Kernels.parallel(parts.count) { part in
                var local: [(Int, Double)] = []
                for i in parts[part] {
                    let z = lp.p + i * v
                    let row = pp.p + (w * scored + i) * v
                    let (lse, _) = Perplexity.logSumExp(z, v)
                    var dot = 0.0
                    for j in 0..<v { dot += Double(row[j]) * Double(z[j]) }
                    let k = w * scored + i
                    local.append((i, max(0, c[k] - dot + s[k] * lse)))
                }
                kl.withLock { for (i, k) in local { $0[i] = k } }
            }
            total += kl.withLock { $0.reduce(0, +) }
        }
        return total / Double(max(positions, 1))
    }
}

extension SensitivityMeasurement {
    /// How reports name a measurement: "4 windows × 256 tokens of calib.txt, each layer alone at wbits 3 ·
    /// groupsize 16 · outlier_threshold 0.2".
    public static func describe(windows: [[Int]], text: String, reference: SpQRConfig) -> String {
        "\(windows.count) windows × \(windows.first?.count ?? 0) tokens of \(text), each layer alone at "
            + Setting.summary([.wbits, .groupsize, .outlierThreshold], of: reference)
    }

    /// The sensitivities of the layers of `fronts` on `windows` of a text (named `text`, with SHA-256
    /// `textSHA256`) at `reference`, through `cache`: the layers it keeps are taken from it and every new
    /// one is stored as it finishes, so a stopped run resumes. `progress` receives each layer's start and
    /// how many came from the cache.
    public static func measure(
        model: Decoder, fronts: ModelFronts, calibration: any CalibrationSource, reference: SpQRConfig,
        windows: [[Int]], text: String, textSHA256: String, cache: FrontsCache?, cancel: CancellationToken? = nil,
        progress: ((SensitivityProgress, _ cachedLayers: Int) -> Void)? = nil
    ) throws -> ModelSensitivity {
        let plan = try QuantizationPlan.make(model, defaults: reference)
        let layers = plan.layers.filter { l in fronts.layers.contains { $0.layer == l.name } }
        let source = describe(windows: windows, text: text, reference: reference)
        let key = try cache?.sensitivityKey(textSHA256: textSHA256, windows: windows, reference: reference)
        let known = Locked(
            Dictionary(
                (key.flatMap { cache?.loadSensitivity($0) }?.layers ?? []).map { ($0.layer, $0) },
                uniquingKeysWith: { a, _ in a }))
        let cached = known.withLock { $0.count }
        let measured = try measure(
            model: model, layers: layers, calibration: calibration, reference: reference, windows: windows,
            known: known.withLock { $0 }, cancel: cancel, progress: { progress?($0, cached) },
            each: { s in
                guard let cache, let key else { return }
                let all = known.withLock {
                    $0[s.layer] = s
                    return $0
                }
                try cache.storeSensitivity(
                    ModelSensitivity(source: source, layers: layers.compactMap { all[$0.name] }), key)
            })
        return ModelSensitivity(source: source, layers: measured)
    }
}
