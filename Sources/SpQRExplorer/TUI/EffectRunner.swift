// Runs the reducer's effects off the input loop and reports back through an event queue.
//
// Quantization runs on one serial queue: a new request cancels the one under way (its token is checked
// between GPTQ blocks) and goes through the layer's `LayerMeasurement`, which loads W and H if the layer
// changed, factorises only when the permutation order or percdamp changed, then reports a preview on
// whole second-level row blocks, the full layer with progress, and the baselines. The trade-off grid is
// measured on the same queue through the same `LayerMeasurement` (TradeoffGrid.measure), point by point;
// a quantization request stops it. File work (statistics, recipes) runs on a second queue; the model
// screen's measurement on its own (EffectRunnerFronts.swift).

import Dispatch
import Foundation
import SpQRCore
import SpQRModel

final class EffectRunner: @unchecked Sendable {
    let checkpoint: any Checkpoint
    let calibration: any CalibrationSource
    private let outbox = Locked<[AppEvent]>([])
    private let current = Locked<CancellationToken?>(nil)
    private let exporting = Locked<CancellationToken?>(nil)
    private let measuringTradeoff = Locked<CancellationToken?>(nil)
    /// The model screen's measurement under way (EffectRunnerFronts.swift).
    let measuringFronts = Locked<CancellationToken?>(nil)
    /// File hashes for recipes and the measurement cache, kept for the session so that they are hashed once.
    let digests = FileDigests()
    private let statistics: StatisticsCache
    private let work = DispatchQueue(label: "spqr.quantize")
    private let files = DispatchQueue(label: "spqr.files")
    // Touched only on `work`: the layer last loaded, with its latest preparation.
    private var measurement: LayerMeasurement?

    /// Where the model screen's measurements are cached.
    let frontsCacheDirectory: String
    /// The windows the model screen measures each layer's sensitivity on (explore --text); nil: the screen
    /// allocates by proxy loss.
    let sensitivityText: SensitivityText?

    init(
        checkpoint: any Checkpoint, calibration: any CalibrationSource,
        frontsCacheDirectory: String = FrontsCache.defaultDirectory, sensitivityText: SensitivityText? = nil
    ) {
        self.checkpoint = checkpoint
        self.calibration = calibration
        self.frontsCacheDirectory = frontsCacheDirectory
        self.sensitivityText = sensitivityText
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
    var busy: Bool {
        current.withLock { $0 != nil } || exporting.withLock { $0 != nil } || measuringTradeoff.withLock { $0 != nil }
            || measuringFronts.withLock { $0 != nil }
    }

    func post(_ e: AppEvent) { outbox.withLock { $0.append(e) } }

    func run(_ effects: [Effect]) {
        for e in effects { run(e) }
    }

    func run(_ effect: Effect) {
        switch effect {
        case .cancel:
            current.withLock {
                $0?.cancel()
                $0 = nil
            }
            run(.cancelTradeoff)
        case .cancelTradeoff:
            measuringTradeoff.withLock {
                $0?.cancel()
                $0 = nil
            }
        case .measureTradeoff(let id, let layer, let candidates, let indices):
            onWork(measuringTradeoff, failed: { [self] m in post(.tradeoff(.failed(id: id, message: m))) }) {
                [self] token in
                // The end is reported however it comes, so the view never waits on a stopped measurement.
                defer { post(.tradeoff(.finished(id: id))) }
                let m = try loadedLayer(layer, progress: nil)
                try TradeoffGrid.measure(indices.map { candidates[$0] }, on: m, cancel: token) { k, point in
                    post(.tradeoff(.point(id: id, index: indices[k], point)))
                }
            }
        case .writePicture(let job):
            files.async { [self] in
                let path = PictureJob.freePath(job.path)
                do {
                    try PNGFile.write(HeatmapPicture(job.request).image, to: path)
                    post(.pictureWritten(path: path))
                } catch let e as SpQRError {
                    post(.pictureFailed(message: e.message))
                } catch {
                    post(.pictureFailed(message: "\(path): \(error)"))
                }
            }
        case .quantize(let generation, let layer, let config):
            run(.cancelTradeoff)
            onWork(current, failed: { [self] m in post(.failed(generation: generation, layer: layer, message: m)) }) {
                [self] token in try quantize(generation, layer, config, token)
            }
        case .cancelExport:
            exporting.withLock {
                $0?.cancel()
                $0 = nil
            }
        case .computeStatistics(let names):
            files.async { [self] in
                var out: [String: TensorStatistics] = [:]
                var failures: [String: String] = [:]
                for n in names {
                    do { out[n] = try statistics.statistics(n) } catch let e as SpQRError {
                        failures[n] = e.message
                    } catch {
                        failures[n] = "\(n): \(error)"
                    }
                }
                post(.statistics(out, failures: failures))
            }
        case .exportRecipe(let id, let path, let overwrite, let payload):
            let token = CancellationToken()
            exporting.withLock {
                $0?.cancel()
                $0 = token
            }
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
        case .measureFronts(let id, let menu, let base): measureFronts(id: id, menu: menu, base: base)
        case .stopFronts:
            measuringFronts.withLock {
                $0?.cancel()
                $0 = nil
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

    /// Runs `body` on the work queue with a new token kept in `slot` (cancelling the one there), and reports
    /// its failure's message to `failed`; a cancelled run ends quietly.
    private func onWork(
        _ slot: Locked<CancellationToken?>, failed: @escaping @Sendable (String) -> Void,
        _ body: @escaping @Sendable (CancellationToken) throws -> Void
    ) {
        let token = CancellationToken()
        slot.withLock {
            $0?.cancel()
            $0 = token
        }
        work.async {
            defer { slot.withLock { if $0 === token { $0 = nil } } }
            do {
                try body(token)
            } catch let e as SpQRError where e.kind == .cancelled {
                return
            } catch let e as SpQRError {
                failed(e.message)
            } catch {
                failed("\(error)")
            }
        }
    }

    /// Hashes the model and calibration files (progress, cancellation), then writes the recipe atomically.
    private func export(id: Int, path: String, overwrite: Bool, payload: RecipePayload, token: CancellationToken) throws
    {
        if !overwrite && FileManager.default.fileExists(atPath: path) {
            post(.exportNeedsConfirmation(id: id, path: path))
            return
        }
        let (model, cal) = try Recipe.describeInputs(
            checkpoint: checkpoint, calibration: calibration, digests: digests,
            cancel: token
        ) { [self] done, total in
            post(.exportProgress(id: id, done: done, total: total))
        }
        let recipe = Recipe.make(
            model: model, calibration: cal, defaults: payload.defaults, configs: payload.configs,
            shapes: payload.shapes, reports: payload.reports)
        try token.check()
        try recipe.write(to: path, overwrite: overwrite)
        post(.exported(id: id, path: path))
    }

    /// The layer's measurement: the one kept when it is the same layer, else W and H loaded anew. Only on `work`.
    private func loadedLayer(_ name: String, progress: MeasurementProgress?) throws -> LayerMeasurement {
        if let m = measurement, m.name == name { return m }
        measurement = nil
        let m = try LayerMeasurement(checkpoint: checkpoint, layer: name, calibration: calibration, progress: progress)
        measurement = m
        return m
    }

    private func quantize(_ generation: Int, _ name: String, _ config: SpQRConfig, _ token: CancellationToken) throws {
        try config.validate()
        let progress: MeasurementProgress = { [self] phase, fraction in
            post(.progress(generation: generation, phase: phase.rawValue, fraction: fraction))
        }
        let measurement = try loadedLayer(name, progress: progress)
        try token.check()
        let m = try measurement.measure(
            config, steps: [.preview, .fullLayer, .baselines, .equalBitBaselines], cancel: token,
            progress: progress,
            partial: { [self] partial in
                if let baselines = partial.baselines {
                    post(.baselines(generation: generation, layer: name, baselines: baselines, report: partial.report))
                    return
                }
                let r = partial.result
                post(
                    .result(
                        generation: generation, layer: name, result: r, report: partial.report,
                        maps: r.isPreview
                            ? nil : HeatmapMaps(result: r, weights: measurement.weights, poolInBackground: true)))
            })
        if let equalBits = m.equalBitBaselines {
            post(.equalBitBaselines(generation: generation, layer: name, equalBits, report: m.report))
        }
    }
}
