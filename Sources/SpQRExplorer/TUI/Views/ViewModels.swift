// What each view draws, as small values, and how they are taken from the state. The views see only
// these models, an area and the cell buffer, so each can be rendered (and tested) alone.

import SpQRCore

/// The title bar: the tool, the checkpoint, the open layer and the calibration source.
struct TitleModel {
    var checkpointPath: String
    /// The open layer as "name  [shape] dtype" (nil in the layer list).
    var layer: String?
    /// The calibration source's label; nil when the session is data-free (H = I).
    var calibration: String?
    var colors: Int
}

/// The status line: a prompt, an export's progress, or the latest message.
struct StatusModel {
    var prompt: Prompt?
    var exporting: ExportStatus?
    var message: String?
    var messageIsError = false
    /// The model screen's measurement under way.
    var measuring: FrontsStatus? = nil
    var capabilities: TerminalCapabilities
}

/// The help overlay: the bindings of one screen.
struct HelpModel {
    /// The screen the bindings apply to ("layer view", "layer list").
    var screen: String
    var bindings: [KeyBinding]
    /// What the figures mean, below the keys (the layer view's figures; empty in the layer list).
    var notes: [String]
    /// The first line shown (the help scrolls when it is longer than the screen).
    var scroll = 0
    var unicode: Bool
}

/// The layer list: the rows after filter and sort, and the figures of the layers measured so far.
struct BrowserModel {
    /// The figures a measured layer shows in the list.
    struct Measured {
        var avgBits: Double
        var relProxyError: Double
    }

    var rows: [LayerRow]
    var measured: [String: Measured]
    /// The layers with an override (marked `*` in the first column).
    var overridden: Set<String> = []
    var selection: Int
    /// The first row shown last time (the view moves it just enough to keep the selection in view).
    var scroll: Int
    var filter: String
    var sort = SortKey.name
    /// Whether the list shows only the tensors that can be quantized.
    var quantizableOnly = false
}

/// The heatmap side of the layer screen.
struct HeatmapModel {
    var rows: Int
    var cols: Int
    /// The maps of the latest full result (nil until one is done).
    var maps: HeatmapMaps?
    /// Whether the maps belong to older settings than the figures shown.
    var mapsStale: Bool
    var mode: HeatmapMode
    /// How the weights under a pixel are combined, and whether the colour range is the whole layer's.
    var pooling: Pooling
    var wholeLayerRange: Bool
    var viewport: Viewport
    var progress: (phase: String, fraction: Double)?
    var error: String?
    var capabilities: TerminalCapabilities
}

/// The right-hand panel of the layer screen.
struct PanelModel {
    var settings: SpQRConfig
    /// The session defaults (the settings that differ from them are the open layer's overrides, marked `*`;
    /// none when omitted).
    var defaults: SpQRConfig?
    /// Slider knob positions in [0, 1] and the advanced settings' values.
    var sliders: (wbits: Double, groupsize: Double, outlierThreshold: Double)
    var advanced: [(name: String, value: String)]
    var showAdvanced: Bool
    var advancedFocus: Int
    var result: SpQRResult?
    var error: String?
    var baselines: Baselines?
    var equalBitBaselines: EqualBitBaselines?
    var maps: HeatmapMaps?
    var sourceDtype: String
    var sourceBitsPerWeight: Double
    /// The session's calibration (the proxy error is named for it).
    var calibration: CalibrationKind
    /// The matrix rows and columns under the heatmap cursor (nil: no inspector).
    var cursor: (rows: Range<Int>, cols: Range<Int>)?
    var unicode: Bool
}

/// The layer screen.
struct LayerModel {
    var heatmap: HeatmapModel
    var panel: PanelModel
    /// The clusters panel, shown in place of `panel` (nil: hidden).
    var clusters: ClusterPanelModel? = nil
}

extension TitleModel {
    init(_ s: AppState) {
        var layer: String?
        if s.onLayer, let l = s.layer {
            layer = "\(l.name)  [\(l.row.shape.map(String.init).joined(separator: "×"))] \(l.row.dtype)"
        }
        self.init(
            checkpointPath: s.checkpointPath, layer: layer,
            calibration: s.calibrationKind == .none ? nil : s.calibrationLabel,
            colors: s.capabilities.colors)
    }
}

extension StatusModel {
    init(_ s: AppState) {
        self.init(
            prompt: s.prompt, exporting: s.exporting, message: s.message, messageIsError: s.messageIsError,
            // Away from the model screen, the latest message goes before the measurement's progress.
            measuring: s.screen == .model || s.message == nil ? s.modelScreen.measuring : nil,
            capabilities: s.capabilities)
    }
}

extension HelpModel {
    init(_ s: AppState) {
        self.init(
            screen: s.tradeoffOpen
                ? "trade-off view"
                : s.screen == .layer ? "layer view" : s.screen == .model ? "model screen" : "layer list",
            bindings: s.activeBindings,
            notes: s.screen == .model
                ? HelpView.modelNotes : HelpView.overrideNotes + (s.onLayer ? HelpView.figureNotes : []),
            scroll: s.helpScroll, unicode: s.capabilities.unicode)
    }
}

extension BrowserModel {
    init(_ s: AppState) {
        self.init(
            rows: s.visibleRows,
            measured: s.reports.mapValues { Measured(avgBits: $0.avgBits, relProxyError: $0.relProxyError) },
            overridden: Set(s.overrides.keys),
            selection: s.selection, scroll: s.browserScroll, filter: s.filter, sort: s.sort,
            quantizableOnly: s.quantizableOnly)
    }
}

extension LayerModel {
    /// The open layer's screen; nil when its shape is not a matrix.
    init?(_ s: AppState, _ layer: LayerSession) {
        let shape = layer.row.shape
        guard shape.count == 2 else { return nil }
        let maps = layer.maps.map(s.displayedMaps)
        heatmap = HeatmapModel(
            rows: shape[0], cols: shape[1], maps: maps, mapsStale: layer.mapsStale, mode: s.mode,
            pooling: s.pooling, wholeLayerRange: s.wholeLayerRange, viewport: s.viewport, progress: layer.progress,
            error: layer.error, capabilities: s.capabilities)
        panel = PanelModel(
            settings: s.settings, defaults: s.defaults,
            sliders: SettingControls.sliderPositions(s.settings),
            advanced: SettingControls.advancedValues(s.settings), showAdvanced: s.showAdvanced,
            advancedFocus: s.advancedFocus, result: layer.result, error: layer.error, baselines: layer.baselines,
            equalBitBaselines: layer.equalBitBaselines, maps: maps, sourceDtype: layer.row.dtype,
            sourceBitsPerWeight: layer.row.bitsPerWeight, calibration: s.calibrationKind,
            cursor: nil, unicode: s.capabilities.unicode)
        clusters = s.clusterState.shown ? ClusterPanelModel(s, layer) : nil
    }
}
