// The explorer's state: everything a frame shows, as plain values. It changes only in the reducer.

import SpQRCore

/// The five heatmap modes (keys 1–5).
enum HeatmapMode: Int, CaseIterable, Sendable {
    case weight = 1, sensitivity, outliers, error, delta

    var title: String {
        switch self {
        case .weight: return "|weight|"
        case .sensitivity: return "sensitivity e²"
        case .outliers: return "outliers"
        case .error: return "error contribution"
        case .delta: return "quantized − original"
        }
    }
}

/// Layer-list sort orders (key `s` cycles).
enum SortKey: String, CaseIterable, Sendable {
    case name, size, error = "proxy error"

    /// The order after this one (`s` cycles through them).
    var next: SortKey {
        let all = Self.allCases
        let i = all.firstIndex(of: self) ?? all.startIndex
        return all[(i + 1) % all.count]
    }
}

/// One tensor of a checkpoint: a row of the layer browser and of `spqr-explorer layers`.
struct LayerRow: Equatable, Sendable, Encodable {
    var name: String
    var block: String?
    var shape: [Int]
    var dtype: String
    var bitsPerWeight: Double
    var quantizable: Bool
    var reason: String?
    var note: String?
    var statistics: TensorStatistics?

    /// Bytes the tensor takes in its file.
    var bytes: Int { Int((Double(shape.reduce(1, *)) * bitsPerWeight / 8).rounded(.up)) }

    private enum CodingKeys: String, CodingKey {
        case name, block, shape, dtype, bytes, quantizable, reason, note, statistics
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encodeIfPresent(block, forKey: .block)
        try c.encode(shape, forKey: .shape)
        try c.encode(dtype, forKey: .dtype)
        try c.encode(bytes, forKey: .bytes)
        try c.encode(quantizable, forKey: .quantizable)
        try c.encodeIfPresent(reason, forKey: .reason)
        try c.encodeIfPresent(note, forKey: .note)
        try c.encodeIfPresent(statistics, forKey: .statistics)
    }
}

extension LayerRow {
    /// The row of a checkpoint tensor (statistics not yet computed).
    init(_ t: TensorEntry) {
        self.init(
            name: t.name, block: LayerNames.block(of: t.name), shape: t.shape, dtype: t.dtype,
            bitsPerWeight: t.bitsPerWeight,
            quantizable: t.isQuantizable, reason: t.notQuantizableReason, note: t.note, statistics: nil)
    }
}

/// A text prompt at the bottom of the screen.
enum PromptKind: Equatable, Sendable {
    case filter, exportPath, openRecipe
    case confirmOverwrite(path: String)
    /// Whether to give the open layer's settings to the layers of a scope (`changed` of them change).
    case confirmApply(ApplyScope, changed: Int)
    /// Whether the model screen's allocation becomes the session's settings (`changed` layers change).
    case confirmAllocation(changed: Int)
}

struct Prompt: Equatable, Sendable {
    var kind: PromptKind
    var text: String
}

/// An export under way: its number, the recipe path and the bytes hashed so far.
struct ExportStatus: Equatable, Sendable {
    var id: Int
    var path: String
    var done = 0
    var total = 0

    var fraction: Double { total > 0 ? min(1, Double(done) / Double(total)) : 0 }
}

/// What the open layer shows.
struct LayerSession: Sendable {
    var name: String
    var row: LayerRow
    /// The latest result (a preview or the full layer).
    var result: SpQRResult?
    /// The latest full result's maps, for the heatmap.
    var maps: HeatmapMaps?
    /// Whether `maps` belong to older settings than the figures shown.
    var mapsStale = false
    var report: LayerReport?
    var baselines: Baselines?
    /// The best round-to-nearest and GPTQ configurations within the SpQR run's bits (after `baselines`).
    var equalBitBaselines: EqualBitBaselines?
    /// Work under way: phase and fraction (nil when idle).
    var progress: (phase: String, fraction: Double)?
    var error: String?
}

/// Where the heatmap looks: zoom (1 = whole matrix, 2 = half of each side, …) and the top-left corner.
struct Viewport: Equatable, Sendable {
    var zoom = 1
    var row0 = 0
    var col0 = 0
    /// Cursor cell within the heatmap area.
    var cursorX = 0
    var cursorY = 0
}

/// The whole state.
struct AppState: Sendable {
    var checkpointPath: String
    var calibrationLabel: String
    var calibrationKind: CalibrationKind
    var rows: [LayerRow]
    var filter = ""
    /// Whether the list hides the tensors that cannot be quantized (key `m`).
    var quantizableOnly = false
    var sort = SortKey.name
    var selection = 0
    var browserScroll = 0
    var onLayer = false
    /// The settings every layer uses where it has no override (SessionSettings.swift): a loaded recipe's
    /// defaults, else the command line's settings.
    var defaults = SpQRConfig()
    /// Per layer, the settings changed while it was open that differ from `defaults`.
    var overrides: [String: [String: SettingValue]] = [:]
    /// The figures each measured layer showed last (at the settings in the report).
    var reports: [String: LayerReport] = [:]
    var layer: LayerSession?
    var mode = HeatmapMode.sensitivity
    /// The pooling chosen for each mode (key `c`); a mode not listed uses its default.
    var poolings: [HeatmapMode: Pooling] = [:]
    /// Whether the heatmap's colour range is the whole layer's (key `r`) rather than the visible cells'.
    var wholeLayerRange = false
    /// The clusters panel and the heatmap's column order (ReducerClusters.swift).
    var clusterState = ClusterState()
    var viewport = Viewport()
    /// The outlier threshold at which `x` last turned outliers off (`x` again restores it).
    var thresholdBeforeOff: Double?
    var showAdvanced = false
    var advancedFocus = 0
    var showHelp = false
    /// The first line of the help shown (↑/↓ and PgUp/PgDn scroll it).
    var helpScroll = 0
    /// The open layer's trade-off (key `f`), and the number of the latest trade-off measurement started.
    var tradeoff: TradeoffSession?
    var tradeoffID = 0
    /// The model screen (key M).
    var modelScreen = ModelScreenState()
    var prompt: Prompt?
    /// The recipe export under way, if any (Esc cancels it), and the number of the latest one started.
    var exporting: ExportStatus?
    var exportID = 0
    var message: String?
    var messageIsError = false
    var generation = 0
    var width: Int
    var height: Int
    var capabilities: TerminalCapabilities
    var quit = false

    init(
        checkpointPath: String, calibrationLabel: String, calibrationKind: CalibrationKind, rows: [LayerRow],
        width: Int, height: Int, capabilities: TerminalCapabilities
    ) {
        self.checkpointPath = checkpointPath
        self.calibrationLabel = calibrationLabel
        self.calibrationKind = calibrationKind
        self.rows = rows
        self.width = width
        self.height = height
        self.capabilities = capabilities
    }

    /// The pooling of the current heatmap mode.
    var pooling: Pooling { poolings[mode] ?? Pooling.choices(mode)[0] }

    /// Rows after the filters (name, quantizable only) and sort.
    var visibleRows: [LayerRow] {
        let f = filter.lowercased()
        let kept = rows.filter {
            (f.isEmpty || $0.name.lowercased().contains(f)) && (!quantizableOnly || $0.quantizable)
        }
        switch sort {
        case .name:
            return kept.sorted { (blockNumber($0), $0.name) < (blockNumber($1), $1.name) }
        case .size:
            return kept.sorted { ($0.bytes, $0.name) > ($1.bytes, $1.name) }
        case .error:
            return kept.sorted {
                (reports[$0.name]?.relProxyError ?? -1, $0.name) > (reports[$1.name]?.relProxyError ?? -1, $1.name)
            }
        }
    }

    func blockNumber(_ r: LayerRow) -> Int {
        r.block.flatMap { Int($0.split(separator: ".").last ?? "") } ?? Int.max
    }

    /// The row under the browser cursor.
    var selectedRow: LayerRow? {
        let v = visibleRows
        return v.indices.contains(selection) ? v[selection] : nil
    }
}
