// The model screen's state (key M): every quantizable layer of the checkpoint on a grid of blocks (rows) ×
// layer types (columns), each cell coloured by one figure, with the model's fronts measured in the
// background over SettingsMenu.standard around the session defaults and a bit allocation solved for a
// target average bits (ModelFronts.allocate). A cell shows the allocated setting's figures once the fronts
// are measured, and before that the figures the session measured for the layer at its own settings.

import Foundation
import SpQRCore

/// Which screen the explorer shows; it selects the key bindings, the view and the help.
enum Screen: Equatable, Sendable {
    case browser, layer, model
}

/// What colours the model screen's cells (key `c` cycles).
enum ModelFigure: CaseIterable, Sendable {
    case avgBits, proxyError, outliers, sensitivity

    var title: String {
        switch self {
        case .avgBits: return "average bits"
        case .proxyError: return "relative proxy error"
        case .outliers: return "outlier share"
        case .sensitivity: return "sensitivity concentration"
        }
    }

    var next: ModelFigure {
        let all = Self.allCases
        return all[(all.firstIndex(of: self)! + 1) % all.count]
    }

    /// The cell's text for value `v` (at most 7 characters).
    func format(_ v: Double) -> String {
        switch self {
        case .avgBits: return String(format: "%.2f", v)
        case .proxyError: return String(format: "%.1e", v)
        case .outliers, .sensitivity: return String(format: v < 0.1 ? "%.2f%%" : "%.1f%%", 100 * v)
        }
    }
}

/// Where the whole-model measurement is.
struct FrontsStatus: Equatable, Sendable {
    /// The layer being measured, layers finished (measured or read from the cache) and in all.
    var layer: String
    var layersDone: Int
    var layers: Int
    var cachedLayers: Int
    /// The share of all the model's settings done, in [0, 1].
    var fraction: Double
    /// What is measured: the fronts, then (with --text) each layer's sensitivity.
    var phase = "measuring the model"
}

/// What the model screen keys do (the bindings are in KeyBindings.swift).
enum ModelAction: Equatable, Sendable {
    /// M: open the screen (measuring the fronts when they are not known for the session defaults).
    case open
    case close
    /// c: the next figure.
    case figure
    /// [ ] { }: move the target average bits by this much.
    case budget(Double)
    /// A: the allocation becomes the session defaults (its most common setting) and per-layer overrides.
    case apply
    /// x: stop the measurement (the layers done stay in the cache).
    case stopMeasurement
    /// Enter: the layer under the cursor in the layer view.
    case openLayer
}

/// What the whole-model measurement reports; `id` tells a stopped measurement's events from a newer one's.
enum ModelScreenEvent: Sendable {
    case progress(id: Int, FrontsStatus)
    case measured(id: Int, ModelFronts)
    case failed(id: Int, message: String)
    case stopped(id: Int)
}

/// The model screen's part of the state.
struct ModelScreenState: Sendable {
    var isOpen = false
    var figure = ModelFigure.avgBits
    /// The grid cell under the cursor (block row, layer-type column) and the first block row shown.
    var row = 0
    var column = 0
    var scroll = 0
    /// Every layer measured over the menu, once done.
    var fronts: ModelFronts?
    /// The measurement under way (nil when idle) and the number of the latest one started.
    var measuring: FrontsStatus?
    var measurementID = 0
    /// The target average bits, and the allocation solved for it (nil until the fronts are measured, or
    /// when the target is out of reach).
    var budget: Double?
    var allocation: Allocation?

    /// Steps of the budget slider (keys [ ] and { }).
    static let smallStep = 0.1
    static let largeStep = 0.5
    /// The menu every layer is measured over.
    static let menu = SettingsMenu.standard
}

/// The grid of the model screen: blocks as rows, layer types as columns, a layer name per cell.
struct ModelGrid: Equatable, Sendable {
    /// Block numbers, ascending.
    var blocks: [Int]
    /// Layer types (`AppState.layerType`), attention before MLP in the reference's order.
    var types: [String]
    /// [block index][type index] → layer name (nil: the block has no layer of that type).
    var cells: [[String?]]

    /// The grid of the quantizable layers in blocks among `rows`.
    init(_ rows: [LayerRow]) {
        var byCell: [Int: [String: String]] = [:]
        var types = Set<String>()
        for r in rows where r.quantizable {
            guard let block = r.block, let n = Int(block.split(separator: ".").last ?? "") else { continue }
            let t = AppState.layerType(r.name)
            byCell[n, default: [:]][t] = r.name
            types.insert(t)
        }
        let blocks = byCell.keys.sorted()
        let ordered = types.sorted { (Self.rank($0), $0) < (Self.rank($1), $1) }
        self.blocks = blocks
        self.types = ordered
        cells = blocks.map { b in ordered.map { byCell[b]?[$0] } }
    }

    /// The order of the usual layer types (Hugging Face and GGUF names): q, k, v, o, gate, up, down.
    static let order = [
        "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
        "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down",
    ]

    static func rank(_ type: String) -> Int {
        let last = String(type.split(separator: ".").last ?? "")
        return order.firstIndex(of: last) ?? order.count
    }

    /// A column's header: the type's last part without `_proj` (q, k, …, down).
    static func header(_ type: String) -> String {
        let last = String(type.split(separator: ".").last ?? Substring(type))
        return last.hasSuffix("_proj") ? String(last.dropLast("_proj".count)) : last
    }

    func layer(row: Int, column: Int) -> String? {
        cells.indices.contains(row) && types.indices.contains(column) ? cells[row][column] : nil
    }
}

extension AppState {
    /// The screen shown: the open layer, else the model screen when open, else the layer list.
    var screen: Screen { onLayer ? .layer : modelScreen.isOpen ? .model : .browser }
}
