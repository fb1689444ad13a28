// Whole-model SpQR: every planned layer quantized with its settings, its result kept in the journal.
//
// Sequential (calibration windows): the windows pass through the model block by block; each block's
// Hessians come from the inputs that the already-quantized earlier blocks produce, and within a block the
// sites go in true-sequential order (SequentialBlock.swift), as the reference `main.py` does.
// Independent (a Hessian file, an importance matrix, or none: H = I): each layer with its own H.
// Finished layers are read back from the journal instead of being redone.

import Foundation
import SpQRCore

/// Where a whole-model quantization takes its Hessians from.
public enum ModelCalibration: Sendable {
    /// Calibration windows, run through the model sequentially.
    case sequential(windows: [[Int]], label: String)
    /// One Hessian per layer from a source (a Hessian file, an importance matrix, or H = I).
    case independent(any CalibrationSource)

    public var label: String {
        switch self {
        case .sequential(_, let label): return label
        case .independent(let source): return source.label
        }
    }
}

/// Runs a plan over a model.
public final class ModelQuantizer {
    public let model: Decoder
    public let plan: QuantizationPlan
    public let journal: QuantizationJournal
    /// Extra tensors kept for each layer (what the output format needs from the SpQR result).
    public let extraTensors: (QuantizationPlan.Layer, SpQRResult) throws -> [SafetensorsWriter.Tensor]
    /// Seconds spent in each phase: "calibration forward" (activations and Hessians) and "quantization".
    public private(set) var phaseSeconds: [String: Double] = [:]

    public init(
        model: Decoder, plan: QuantizationPlan, journal: QuantizationJournal,
        extraTensors: @escaping (QuantizationPlan.Layer, SpQRResult) throws -> [SafetensorsWriter.Tensor] = { _, _ in []
        }
    ) {
        self.model = model
        self.plan = plan
        self.journal = journal
        self.extraTensors = extraTensors
    }

    /// Quantizes every planned layer not yet in the journal. `progress(done, total, layer)` after each layer
    /// (finished ones from an earlier run count at the start).
    public func run(
        _ calibration: ModelCalibration, cancel: CancellationToken? = nil,
        progress: ((Int, Int, String) -> Void)? = nil
    ) throws {
        let total = plan.layers.count
        var count = plan.layers.filter { journal.isDone($0.name) }.count
        progress?(count, total, "")
        let step = { (name: String) in
            count += 1
            progress?(count, total, name)
        }
        switch calibration {
        case .sequential(let windows, let label):
            try runSequentially(windows, label: label, cancel: cancel, layerDone: step)
        case .independent(let source):
            for layer in plan.layers where !journal.isDone(layer.name) {
                try cancel?.check()
                var clock = PhaseClock()
                let w = try model.storedMatrix(layer.name)
                let isEmbedding = layer.name == QuantizationPlan.embedding
                let h =
                    isEmbedding
                    ? try Self.identity(layer) : try source.hessian(forLayer: layer.name, inFeatures: layer.shape[1])
                phaseSeconds["calibration", default: 0] += clock.lap()
                _ = try quantize(
                    layer, weights: w, hessian: h, label: isEmbedding ? Self.embeddingLabel : source.label,
                    cancel: cancel)
                phaseSeconds["quantization", default: 0] += clock.lap()
                step(layer.name)
            }
        }
    }

    private func runSequentially(
        _ windows: [[Int]], label: String, cancel: CancellationToken?, layerDone: (String) -> Void
    ) throws {
        let journal = self.journal
        // Finished layers run quantized, from the journal.
        model.weightOverride = { name, buffer in
            guard journal.isDone(name) else { return false }
            let values = try journal.load(name).weights
            guard values.count == buffer.count else {
                throw SpQRError(.shapeMismatch, "\(journal.directory): layer \(name) has \(values.count) values")
            }
            _ = buffer.update(fromContentsOf: values)
            return true
        }
        defer {
            model.weightOverride = nil
            try? model.loadEmbeddings()
        }
        var clock = PhaseClock()
        if let e = plan.layers.first(where: { $0.name == QuantizationPlan.embedding }), !journal.isDone(e.name) {
            _ = try quantize(
                e, weights: try model.storedMatrix(e.name), hessian: try Self.identity(e), label: Self.embeddingLabel,
                cancel: cancel)
            layerDone(e.name)
            phaseSeconds["quantization", default: 0] += clock.lap()
        }
        // The embedding and output layer the run decided (the checkpoint's where they are not planned).
        try model.loadEmbeddings()
        let x = try model.embed(windows)
        for b in 0..<model.config.blocks {
            let layers = plan.layers(inBlock: b)
            if layers.allSatisfy({ journal.isDone($0.name) }) {
                try model.runBlock(b, on: x, cancel: cancel)
                phaseSeconds["calibration forward", default: 0] += clock.lap()
                continue
            }
            try model.runBlockSequentially(
                b, on: x,
                needsHessian: { site in layers.contains { $0.site == site.name && !journal.isDone($0.name) } },
                quantize: { site, h in
                    phaseSeconds["calibration forward", default: 0] += clock.lap()
                    var out: [String: [Float]] = [:]
                    for layer in layers where layer.site == site.name {
                        if journal.isDone(layer.name) {
                            out[layer.name] = try journal.load(layer.name).weights
                            continue
                        }
                        let w = try model.storedMatrix(layer.name)
                        out[layer.name] = try quantize(layer, weights: w, hessian: h!, label: label, cancel: cancel)
                        layerDone(layer.name)
                    }
                    phaseSeconds["quantization", default: 0] += clock.lap()
                    return out
                }, cancel: cancel)
            phaseSeconds["calibration forward", default: 0] += clock.lap()
        }
        if let o = plan.layers.first(where: { $0.name == QuantizationPlan.output }), !journal.isDone(o.name) {
            // The output layer reads the final norm's output.
            let sum = HessianSum(width: x.width)
            let normed = FloatBuffer(x.length * x.width)
            for w in 0..<x.windows {
                model.finalNormed(x, window: w, into: normed.pointer)
                sum.add(normed.pointer, rows: x.length)
            }
            let h = Matrix(rows: x.width, cols: x.width, values: sum.hessian(windows: x.windows))
            phaseSeconds["calibration forward", default: 0] += clock.lap()
            _ = try quantize(
                o, weights: try model.storedMatrix(o.name),
                hessian: h, label: label, cancel: cancel)
            layerDone(o.name)
            phaseSeconds["quantization", default: 0] += clock.lap()
        }
    }

    /// The embedding's calibration: its input is a one-hot token, so no Hessian is collected for it.
    static let embeddingLabel = "none for the embedding (its input is a one-hot token): data-free (H = I)"

    static func identity(_ layer: QuantizationPlan.Layer) throws -> Matrix {
        try IdentityCalibration().hessian(forLayer: layer.name, inFeatures: layer.shape[1])
    }

    /// SpQR on one layer; the result goes to the journal. Returns the dequantized weights.
    private func quantize(
        _ layer: QuantizationPlan.Layer, weights: Matrix, hessian: Matrix, label: String,
        cancel: CancellationToken?
    ) throws -> [Float] {
        let entry = try? model.source.entry(layer.name)
        let measurement = LayerMeasurement(
            name: layer.name, weights: weights, hessian: hessian, sourceDtype: entry?.dtype,
            sourceBits: entry?.bitsPerWeight, calibration: label)
        let measured = try measurement.measure(layer.config, steps: [.fullLayer], cancel: cancel)
        var report = measured.report
        report.seconds = measured.seconds
        let q = measured.result.dequantized.values
        let tensors =
            [SafetensorsWriter.Tensor.f32("weight", shape: layer.shape, q)]
            + (try extraTensors(layer, measured.result))
        try journal.record(layer.name, tensors: tensors, report: report)
        return q
    }
}
