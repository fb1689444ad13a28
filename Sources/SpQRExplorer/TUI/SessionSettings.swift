// The session's settings: defaults every layer uses, and for each layer only the settings the user changed
// while it was open (its overrides, `Setting.differences` from the defaults). A layer's settings are the
// defaults with its overrides applied. Applying the open layer's settings to all layers makes them the
// defaults and clears every override; applying them to the layers of its type (its name within its block,
// without `.weight`: `self_attn.q_proj`, `mlp.down_proj`, `attn_q`, `ffn_down`, `intermediate.dense`) gives
// those layers the same overrides.

import SpQRCore

/// Which layers an apply key gives the open layer's settings to.
enum ApplyScope: Equatable, Sendable {
    case all
    /// The layers whose type (`AppState.layerType`) is this.
    case type(String)

    /// How the status line and the prompt name the layers.
    var phrase: String {
        switch self {
        case .all: return "all layers"
        case .type(let t): return "every \(t) layer"
        }
    }
}

extension AppState {
    /// The settings of `layer`: the session defaults with its overrides.
    func config(for layer: String) -> SpQRConfig {
        Setting.applying(overrides[layer] ?? [:], to: defaults)
    }

    /// The open layer's settings (the session defaults in the layer list). Setting them while a layer is
    /// open records the differences from the defaults as that layer's overrides.
    var settings: SpQRConfig {
        get { onLayer ? layer.map { config(for: $0.name) } ?? defaults : defaults }
        set {
            guard onLayer, let name = layer?.name else {
                defaults = newValue
                return
            }
            let d = Setting.differences(newValue, from: defaults)
            overrides[name] = d.isEmpty ? nil : d
        }
    }

    /// A layer's type: its name within its block (`LayerNames.block`), without a final `.weight`; the
    /// same in every block (`self_attn.q_proj`, `attn_q`), and kept whole where a module name alone is
    /// ambiguous (`attention.output.dense` and `output.dense`).
    static func layerType(_ name: String) -> String {
        var t = Substring(name)
        if let block = LayerNames.block(of: name), t.hasPrefix(block + ".") { t = t.dropFirst(block.count + 1) }
        if t.hasSuffix(".weight") { t = t.dropLast(".weight".count) }
        return t.isEmpty ? name : String(t)
    }

    /// The quantizable layers `scope` covers.
    func layers(in scope: ApplyScope) -> [String] {
        rows.filter { r in
            guard r.quantizable else { return false }
            if case .type(let t) = scope { return Self.layerType(r.name) == t }
            return true
        }
        .map(\.name)
    }

    /// The layers of `scope` whose settings applying `c` to them would change.
    func layersChanged(applying c: SpQRConfig, to scope: ApplyScope) -> [String] {
        layers(in: scope).filter { config(for: $0) != c }
    }

    /// Gives every layer of `scope` the settings `c` (for all layers: `c` becomes the defaults and every
    /// override is cleared).
    mutating func apply(_ c: SpQRConfig, to scope: ApplyScope) {
        switch scope {
        case .all:
            defaults = c
            overrides = [:]
        case .type:
            let d = Setting.differences(c, from: defaults)
            for name in layers(in: scope) { overrides[name] = d.isEmpty ? nil : d }
        }
    }

    /// "wbits 4 · outlier_threshold 0.3": settings and values as the panel labels them, in setting order.
    static func describe(_ values: [String: SettingValue]) -> String {
        Setting.all.compactMap { s in values[s.name].map { "\(s.name) \(s.label(of: $0))" } }
            .joined(separator: " · ")
    }
}
