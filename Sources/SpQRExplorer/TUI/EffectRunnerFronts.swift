// The model screen's measurement, off the input loop: every layer of the model measured over the menu
// (ModelFrontsMeasurement: each layer on all cores, its factorisation reused across the menu), then, when
// the explorer was given --text, each layer's sensitivity on the model (SensitivityMeasurement), both read
// from and stored in the on-disk cache (FrontsCache) so a later session starts where this one stopped,
// with their progress on the event queue and stopped by the cancellation token (x in the model screen).

import Dispatch
import Foundation
import SpQRCore
import SpQRModel

extension EffectRunner {
    func measureFronts(id: Int, menu: SettingsMenu, base: SpQRConfig) {
        let token = CancellationToken()
        measuringFronts.withLock {
            $0?.cancel()
            $0 = token
        }
        DispatchQueue.global(qos: .utility).async { [self] in
            defer { measuringFronts.withLock { if $0 === token { $0 = nil } } }
            do {
                let model: Decoder
                do {
                    model = try Decoder(path: checkpoint.path)
                } catch let e as SpQRError {
                    // The reason first (it names the file), then what the screen needs: a message line
                    // cut at the terminal's width keeps the part that matters.
                    throw SpQRError(
                        e.kind,
                        "not a whole model: \(e.message); the model screen needs a GGUF model file, or safetensors with config.json beside them"
                    )
                }
                let cache = try FrontsCache(
                    directory: frontsCacheDirectory, checkpoint: model.source, calibration: calibration,
                    menu: menu, base: base, digests: digests, cancel: token)
                var fronts = try ModelFrontsMeasurement.measure(
                    model: model, calibration: calibration, menu: menu, base: base, cache: cache, cancel: token
                ) { [self] p in
                    post(.model(.progress(id: id, FrontsStatus(p))))
                }
                if let text = sensitivityText {
                    fronts = try fronts.weighted(
                        by: try SensitivityMeasurement.measure(
                            model: model, fronts: fronts, calibration: calibration, reference: base,
                            windows: text.windows, text: text.path, textSHA256: text.sha256, cache: cache,
                            cancel: token
                        ) { [self] p, cached in
                            post(
                                .model(
                                    .progress(
                                        id: id,
                                        FrontsStatus(
                                            layer: p.layer, layersDone: p.layerIndex, layers: p.layers,
                                            cachedLayers: cached,
                                            fraction: Double(p.layerIndex) / Double(max(p.layers, 1)),
                                            phase: "measuring each layer's sensitivity"))))
                        })
                }
                post(.model(.measured(id: id, fronts)))
            } catch let e as SpQRError where e.kind == .cancelled {
                post(.model(.stopped(id: id)))
            } catch let e as SpQRError {
                post(.model(.failed(id: id, message: e.message)))
            } catch {
                post(.model(.failed(id: id, message: "measuring the model: \(error)")))
            }
        }
    }
}

/// Windows of a text each layer's sensitivity is measured on (explore --text).
struct SensitivityText: Sendable {
    /// The text's path, its SHA-256 and its windows (token ids).
    var path: String
    var sha256: String
    var windows: [[Int]]
}

extension FrontsStatus {
    init(_ p: FrontsProgress) {
        self.init(
            layer: p.layer, layersDone: p.layerIndex + (p.settingsDone >= p.settings ? 1 : 0), layers: p.layers,
            cachedLayers: p.cachedLayers, fraction: p.fraction)
    }
}
