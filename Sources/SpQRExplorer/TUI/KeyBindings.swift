// The key-binding table: one list drives dispatch, the footer and the help overlay.

/// What a key does.
enum Action: Equatable, Sendable {
    case quit, help, back, open, up, down, left, right, pageUp, pageDown, home, end
    case filter, sort, quantizableOnly, mode(HeatmapMode), pooling, range, zoomIn, zoomOut, zoomReset
    case wbitsDown, wbitsUp, groupDown, groupUp, thresholdDown, thresholdUp, thresholdOff
    case advanced, advancedPrevious, advancedNext, advancedDecrease, advancedIncrease
    case export, openRecipe, nextLayer, previousLayer, applyToAll, applyToType
    /// The clusters panel, the column order and the picture (ReducerClusters.swift).
    case view(ViewAction)
    case tradeoff, applyPoint
    /// The model screen's keys (ModelScreen.swift).
    case model(ModelAction)
}

/// Where a binding applies.
enum BindingContext: Sendable {
    case everywhere, browser, layer, model
}

struct KeyBinding: Sendable {
    let keys: [Key]
    let label: String
    let action: Action
    let context: BindingContext
    let help: String
    /// Shown in the footer.
    let footer: Bool

    /// The footer's short text.
    var footerText: String {
        switch action {
        case .quit: return "quit"
        case .help: return "help"
        case .open: return "open"
        case .filter: return "filter"
        case .sort: return "sort"
        case .back: return "back"
        case .mode: return "modes"
        case .wbitsUp: return "wbits"
        case .groupUp: return "groupsize"
        case .thresholdUp: return "threshold"
        case .advanced: return "advanced"
        case .export: return "export"
        case .openRecipe: return "open recipe"
        case .applyPoint: return "apply"
        case .model(.open): return "model"
        case .model(.close): return "back"
        case .model(.openLayer): return "open"
        case .model(.figure): return "figure"
        case .model(.budget): return "budget"
        case .model(.apply): return "apply"
        default: return help
        }
    }
}

enum KeyBindings {
    static let table: [KeyBinding] =
        [
            KeyBinding(keys: [.char("q")], label: "q", action: .quit, context: .everywhere, help: "quit", footer: true),
            KeyBinding(
                keys: [.char("?")], label: "?", action: .help, context: .everywhere, help: "show or hide this help",
                footer: true),
            KeyBinding(
                keys: [.up, .char("k")], label: "↑/k", action: .up, context: .everywhere,
                help: "move up (list, cursor)",
                footer: false),
            KeyBinding(
                keys: [.down, .char("j")], label: "↓/j", action: .down, context: .everywhere,
                help: "move down (list, cursor)", footer: false),
            KeyBinding(
                keys: [.left, .char("h")], label: "←/h", action: .left, context: .layer, help: "move the cursor left",
                footer: false),
            KeyBinding(
                keys: [.right, .char("l")], label: "→/l", action: .right, context: .layer,
                help: "move the cursor right",
                footer: false),
            KeyBinding(
                keys: [.pageUp], label: "PgUp", action: .pageUp, context: .everywhere, help: "page up", footer: false),
            KeyBinding(
                keys: [.pageDown], label: "PgDn", action: .pageDown, context: .everywhere, help: "page down",
                footer: false),
            KeyBinding(
                keys: [.home], label: "Home", action: .home, context: .everywhere, help: "first row", footer: false),
            KeyBinding(keys: [.end], label: "End", action: .end, context: .everywhere, help: "last row", footer: false),
            KeyBinding(
                keys: [.enter], label: "Enter", action: .open, context: .browser, help: "open the layer", footer: true),
            KeyBinding(
                keys: [.char("/")], label: "/", action: .filter, context: .browser, help: "filter layers by name",
                footer: true),
            KeyBinding(
                keys: [.char("s")], label: "s", action: .sort, context: .browser,
                help: "sort by name, size or proxy error",
                footer: true),
            KeyBinding(
                keys: [.char("m")], label: "m", action: .quantizableOnly, context: .browser,
                help: "show only quantizable weight matrices, or every tensor", footer: false),
            KeyBinding(
                keys: [.escape, .backspace, .char("b")], label: "Esc", action: .back, context: .layer,
                help: "back to the layer list", footer: true),
            KeyBinding(
                keys: [.char("1")], label: "1", action: .mode(.weight), context: .layer, help: "heatmap of |weight|",
                footer: false),
            KeyBinding(
                keys: [.char("2")], label: "2", action: .mode(.sensitivity), context: .layer,
                help: "heatmap of sensitivity (e² before the outlier decision)", footer: false),
            KeyBinding(
                keys: [.char("3")], label: "3", action: .mode(.outliers), context: .layer,
                help: "heatmap of outliers (density per cell, or yes/no)", footer: false),
            KeyBinding(
                keys: [.char("4")], label: "4", action: .mode(.error), context: .layer,
                help: "heatmap of error contribution", footer: false),
            KeyBinding(
                keys: [.char("5")], label: "1-5", action: .mode(.delta), context: .layer,
                help: "heatmap of quantized − original", footer: true),
            KeyBinding(
                keys: [.char("c")], label: "c", action: .pooling, context: .layer,
                help: "heatmap pooling: mean, max, RMS or density (by mode)", footer: false),
            KeyBinding(
                keys: [.char("r")], label: "r", action: .range, context: .layer,
                help: "colour range: visible cells or whole layer", footer: false),
            KeyBinding(
                keys: [.char("C")], label: "C", action: .view(.clusters), context: .layer,
                help: "clusters panel: rows, columns, heads, groups by concentration", footer: false),
            KeyBinding(
                keys: [.enter], label: "Enter", action: .view(.zoomToCluster), context: .layer,
                help: "zoom to the cluster chosen with ↑/↓ in the panel", footer: false),
            KeyBinding(
                keys: [.char("v")], label: "v", action: .view(.processingOrder), context: .layer,
                help: "columns in the file's order or GPTQ's (act_order)", footer: false),
            KeyBinding(
                keys: [.char("P")], label: "P", action: .view(.picture), context: .layer,
                help: "write the heatmap as it is shown to a PNG file", footer: false),
            KeyBinding(
                keys: [.char("+"), .char("=")], label: "+", action: .zoomIn, context: .layer,
                help: "zoom in at the cursor",
                footer: false),
            KeyBinding(
                keys: [.char("-")], label: "-", action: .zoomOut, context: .layer, help: "zoom out", footer: false),
            KeyBinding(
                keys: [.char("0")], label: "0", action: .zoomReset, context: .layer, help: "whole matrix", footer: false
            ),
            KeyBinding(
                keys: [.char("w")], label: "w", action: .wbitsDown, context: .layer, help: "wbits − 1 (2–8)",
                footer: false),
            KeyBinding(
                keys: [.char("W")], label: "W/w", action: .wbitsUp, context: .layer, help: "wbits + 1", footer: true),
            KeyBinding(
                keys: [.char("g")], label: "g", action: .groupDown, context: .layer,
                help: "smaller groupsize (4 … 256, none)", footer: false),
            KeyBinding(
                keys: [.char("G")], label: "G/g", action: .groupUp, context: .layer, help: "larger groupsize",
                footer: true),
            KeyBinding(
                keys: [.char("t")], label: "t", action: .thresholdDown, context: .layer,
                help: "lower outlier_threshold (more outliers; log steps)", footer: false),
            KeyBinding(
                keys: [.char("T")], label: "T/t", action: .thresholdUp, context: .layer,
                help: "higher outlier_threshold (fewer outliers)", footer: true),
            KeyBinding(
                keys: [.char("x")], label: "x", action: .thresholdOff, context: .layer, help: "outliers off / back on",
                footer: false),
            KeyBinding(
                keys: [.char("a")], label: "a", action: .advanced, context: .layer, help: "advanced settings panel",
                footer: true),
            KeyBinding(
                keys: [.char("[")], label: "[", action: .advancedPrevious, context: .layer,
                help: "advanced: previous setting", footer: false),
            KeyBinding(
                keys: [.char("]")], label: "]", action: .advancedNext, context: .layer, help: "advanced: next setting",
                footer: false),
            KeyBinding(
                keys: [.char("<"), .char(",")], label: "<", action: .advancedDecrease, context: .layer,
                help: "advanced: previous value", footer: false),
            KeyBinding(
                keys: [.char(">"), .char(".")], label: ">", action: .advancedIncrease, context: .layer,
                help: "advanced: next value", footer: false),
            KeyBinding(
                keys: [.char("n")], label: "n", action: .nextLayer, context: .layer, help: "next layer", footer: false),
            KeyBinding(
                keys: [.char("p")], label: "p", action: .previousLayer, context: .layer, help: "previous layer",
                footer: false),
            KeyBinding(
                keys: [.char("A")], label: "A", action: .applyToAll, context: .layer,
                help: "these settings for all layers (the defaults; clears overrides)", footer: false),
            KeyBinding(
                keys: [.char("Y")], label: "Y", action: .applyToType, context: .layer,
                help: "these settings for every layer of this type (q_proj, …)", footer: false),
            KeyBinding(
                keys: [.char("f")], label: "f", action: .tradeoff, context: .layer,
                help: "trade-off: proxy error against bits over a grid of settings", footer: false),
            KeyBinding(
                keys: [.char("e")], label: "e", action: .export, context: .everywhere, help: "export a JSON recipe",
                footer: true),
            KeyBinding(
                keys: [.char("o")], label: "o", action: .openRecipe, context: .everywhere,
                help: "open a recipe and restore its settings", footer: true),
        ] + modelScreen

    /// The bindings that apply on `screen`.
    static func active(_ screen: Screen) -> [KeyBinding] {
        table.filter {
            switch $0.context {
            case .everywhere: return true
            case .browser: return screen == .browser
            case .layer: return screen == .layer
            case .model: return screen == .model
            }
        }
    }

    /// The bindings of the layer screen (`onLayer`) or the layer list.
    static func active(onLayer: Bool) -> [KeyBinding] { active(onLayer ? .layer : .browser) }

    /// The action bound to `key` on `screen`.
    static func action(for key: Key, _ screen: Screen) -> Action? {
        active(screen).first { $0.keys.contains(key) }?.action
    }
}
