// Effects the reducer asks for (file I/O, quantization, export) and the events they report back. The
// reducer never performs them; `EffectRunner` does, off the input loop.

import SpQRCore

/// Work the reducer requests.
enum Effect: Equatable, Sendable {
    /// Load W and H of a layer, then quantize it with `config` (generation numbers retire stale runs).
    case quantize(generation: Int, layer: String, config: SpQRConfig)
    case computeStatistics([String])
    /// Hash the model and calibration files (with progress), then write the recipe atomically; `id`
    /// numbers the export so the events of a cancelled one are told apart from a newer one's.
    case exportRecipe(id: Int, path: String, overwrite: Bool, payload: RecipePayload)
    /// Stop the export under way; nothing is written.
    case cancelExport
    case importRecipe(path: String)
    /// Stop the quantization under way (and the trade-off measurement).
    case cancel
    /// Draw the heatmap and write it as a PNG file (ReducerPicture.swift).
    case writePicture(PictureJob)
    /// Measure the trade-off candidates at `indices` of the layer's grid, reporting each point.
    case measureTradeoff(id: Int, layer: String, candidates: [TradeoffCandidate], indices: [Int])
    /// Stop the trade-off measurement under way.
    case cancelTradeoff
    /// Measure every layer of the model over `menu` around `base` (from the cache where it can), and stop it.
    case measureFronts(id: Int, menu: SettingsMenu, base: SpQRConfig)
    case stopFronts
}

/// What a recipe export needs from the state.
struct RecipePayload: Equatable, Sendable {
    var defaults: SpQRConfig
    var configs: [String: SpQRConfig]
    var shapes: [String: [Int]]
    var reports: [String: LayerReport]
}

/// Everything that can happen: terminal input and the results of effects.
enum AppEvent: Sendable {
    case terminal(TerminalEvent)
    case progress(generation: Int, phase: String, fraction: Double)
    case result(generation: Int, layer: String, result: SpQRResult, report: LayerReport, maps: HeatmapMaps?)
    case baselines(generation: Int, layer: String, baselines: Baselines, report: LayerReport)
    /// The equal-bit baselines, searched after the same-settings ones.
    case equalBitBaselines(generation: Int, layer: String, EqualBitBaselines, report: LayerReport)
    case failed(generation: Int, layer: String, message: String)
    /// Quick statistics of the requested tensors, and the message of each that could not be read.
    case statistics([String: TensorStatistics], failures: [String: String] = [:])
    /// Bytes of the model and calibration files hashed so far for export `id`.
    case exportProgress(id: Int, done: Int, total: Int)
    case exported(id: Int, path: String)
    case exportCancelled(id: Int, path: String)
    case exportNeedsConfirmation(id: Int, path: String)
    case exportFailed(id: Int, message: String)
    case recipeLoaded(Recipe)
    case recipeFailed(message: String)
    case pictureWritten(path: String)
    case pictureFailed(message: String)
    /// A trade-off point, or the end of a trade-off measurement.
    case tradeoff(TradeoffEvent)
    /// The model screen's measurement.
    case model(ModelScreenEvent)
}
