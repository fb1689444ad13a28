// Runs the reducer's effects off the input loop and reports back through an event queue.
//
// Quantization runs on one serial queue: a new request cancels the one under way (its token is checked
// between GPTQ blocks), loads W and H if the layer changed, factorises only when the permutation order
// or percdamp changed, then reports a preview on whole second-level row blocks, the full layer with
// progress, and the baselines. File work (statistics, recipes) runs on a second queue.

import Dispatch
import Foundation
import SpQRCore

final class EffectRunner: @unchecked Sendable {
    let checkpoint: any Checkpoint
    let calibration: any CalibrationSource
    private let outbox = Locked<[AppEvent]>([])
    private let current = Locked<CancellationToken?>(nil)
    private let exporting = Locked<CancellationToken?>(nil)
    /// File hashes for recipes, kept for the session so a repeated export does not hash again.
    private let digests = FileDigests()
    private let statistics: StatisticsCache
    private let work = DispatchQueue(label: "spqr.quantize")
    private let files = DispatchQueue(label: "spqr.files")
    // Touched only on `work`.
    private var loaded: (name: String, weights: Matrix, hessian: Matrix)?
    private var prepared: PreparedLayer?
    private var quadratic: Double?

    init(checkpoint: any Checkpoint, calibration: any CalibrationSource) {
        self.checkpoint = checkpoint
        self.calibration = calibration
        self.statistics = StatisticsCache(checkpoint: checkpoint)
    }

    /// Events produced since the last call.
    func drain() -> [AppEvent] {
        outbox.withLock { e in
            defer { e.removeAll() }
            return e
        }
    }

    /// Whether work is under way (so the loop keeps redrawing progress).
    var busy: Bool { current.withLock { $0 != nil } || exporting.withLock { $0 != nil } }

    private func post(_ e: AppEvent) { outbox.withLock { $0.append(e) } }

    func run(_ effects: [Effect]) {
        for e in effects { run(e) }
    }

    func run(_ effect: Effect) {
        switch effect {
        case .cancel:
            current.withLock { $0?.cancel(); $0 = nil }
        case .quantize(let generation, let layer, let config):
            let token = CancellationToken()
            current.withLock { $0?.cancel(); $0 = token }
            work.async { [self] in
                defer { current.withLock { if $0 === token { $0 = nil } } }
                do {
                    try quantize(generation, layer, config, token)
                } catch let e as SpQRError where e.kind == .cancelled {
                    return
                } catch let e as SpQRError {
                    post(.failed(generation: generation, layer: layer, message: e.message))
                } catch {
                    post(.failed(generation: generation, layer: layer, message: "\(error)"))
                }
            }
        case .cancelExport:
            exporting.withLock { $0?.cancel(); $0 = nil }
        case .computeStatistics(let names):
            files.async { [self] in
                var out: [String: TensorStatistics] = [:]
                for n in names { if let s = try? statistics.statistics(n) { out[n] = s } }
                post(.statistics(out))
            }
        case .exportRecipe(let id, let path, let overwrite, let payload):
            let token = CancellationToken()
            exporting.withLock { $0?.cancel(); $0 = token }
            // Exports run on their own queue so statistics requests are not held up by hashing.
            DispatchQueue.global(qos: .userInitiated).async { [self] in
                defer { exporting.withLock { if $0 === token { $0 = nil } } }
                do {
                    try export(id: id, path: path, overwrite: overwrite, payload: payload, token: token)
                } catch let e as SpQRError where e.kind == .cancelled {
                    post(.exportCancelled(id: id, path: path))
                } catch let e as SpQRError {
                    post(.exportFailed(id: id, message: e.message))
                } catch {
                    post(.exportFailed(id: id, message: "\(path): \(error)"))
                }
            }
        case .importRecipe(let path):
            files.async { [self] in
                do {
                    let r = try Recipe.read(path: path)
                    try r.checkLayers(against: checkpoint)
                    post(.recipeLoaded(r))
                } catch let e as SpQRError {
                    post(.recipeFailed(message: e.message))
                } catch {
                    post(.recipeFailed(message: "\(path): \(error)"))
                }
            }
        }
    }

    /// Hashes the model and calibration files (progress, cancellation), then writes the recipe atomically.
    private func export(id: Int, path: String, overwrite: Bool, payload: RecipePayload, token: CancellationToken) throws {
        if !overwrite && FileManager.default.fileExists(atPath: path) {
            post(.exportNeedsConfirmation(id: id, path: path))
            return
        }
        let (model, cal) = try Recipe.describeInputs(checkpoint: checkpoint, calibration: calibration, digests: digests,
                                                     cancel: token) { [self] done, total in
            post(.exportProgress(id: id, done: done, total: total))
        }
        let recipe = Recipe.make(model: model, calibration: cal, defaults: payload.defaults, configs: payload.configs,
                                 shapes: payload.shapes, reports: payload.reports)
        try token.check()
        try recipe.write(to: path, overwrite: overwrite)
        post(.exported(id: id, path: path))
    }

    private func quantize(_ generation: Int, _ name: String, _ config: SpQRConfig, _ token: CancellationToken) throws {
        try config.validate()
        if loaded?.name != name {
            post(.progress(generation: generation, phase: "loading", fraction: 0))
            let entry = try checkpoint.entry(name)
            let w = try checkpoint.matrix(entry.name)
            let h = try calibration.hessian(forLayer: entry.name, inFeatures: w.cols)
            loaded = (name, w, h)
            prepared = nil
            quadratic = nil
            post(.layerLoaded(generation: generation, layer: name, weights: w))
        }
        try token.check()
        guard let (_, w, h) = loaded else { return }
        if prepared.map({ !$0.matches(config) }) ?? true {
            post(.progress(generation: generation, phase: "factorising", fraction: 0))
            let p = try PreparedLayer(name: name, weights: w, hessian: h, config: config, weightQuadratic: quadratic)
            prepared = p
            quadratic = p.weightQuadratic
        }
        guard let p = prepared else { return }
        try token.check()
        let entry = try checkpoint.entry(name)
        func report(_ r: SpQRResult, _ b: Baselines?) -> LayerReport {
            LayerReport(layer: name, result: r, baselines: b, sourceDtype: entry.dtype, sourceBits: entry.bitsPerWeight,
                        calibration: calibration.label)
        }
        let rows = SpQR.previewRows(outFeatures: w.rows, config: config)
        if rows.count < w.rows {
            post(.progress(generation: generation, phase: "preview", fraction: 0))
            let preview = try SpQR.run(p, config: config, rows: rows, cancel: token)
            post(.result(generation: generation, layer: name, result: preview, report: report(preview, nil), maps: nil))
        }
        let full = try SpQR.run(p, config: config, cancel: token) { [self] f in
            post(.progress(generation: generation, phase: "full layer", fraction: f))
        }
        try token.check()
        let maps = HeatmapMaps(result: full, weights: w)
        post(.result(generation: generation, layer: name, result: full, report: report(full, nil), maps: maps))
        let baselines = try SpQR.baselines(p, config: config, cancel: token)
        post(.baselines(generation: generation, layer: name, baselines: baselines, report: report(full, baselines)))
    }
}
