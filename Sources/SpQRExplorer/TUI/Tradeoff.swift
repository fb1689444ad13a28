// The trade-off view's state (key `f` in the layer view): the open layer's grid of settings
// (TradeoffGrid.candidates around the layer's settings), the points measured so far, the point under the
// cursor, and the keys the view takes. Moving along the points: ←/→ through every point by average bits,
// ↑/↓ along the Pareto front; Enter applies the selected point's settings to the layer; f or Esc goes back
// to the heatmap.

import SpQRCore

/// The trade-off of the open layer: its candidates and the points measured so far.
struct TradeoffSession: Sendable {
    /// The layer the grid belongs to.
    var layer: String
    /// The number of the latest measurement started (events of older ones are dropped).
    var id: Int
    var candidates: [TradeoffCandidate]
    /// The measured points by candidate index.
    var points: [Int: TradeoffPoint] = [:]
    /// Whether a measurement is under way.
    var running = false
    var error: String?
    /// The candidate under the cursor (a measured one), if any.
    var selection: Int?
    /// Whether the view is on screen (closing it stops the measurement and keeps the points).
    var open = true

    /// The share of the candidates measured.
    var fraction: Double { candidates.isEmpty ? 1 : Double(points.count) / Double(candidates.count) }

    /// The candidates not measured yet, in grid order.
    var missing: [Int] { candidates.indices.filter { points[$0] == nil } }

    /// The measured candidates by average bits, then error.
    var byBits: [Int] {
        points.keys.sorted {
            let a = points[$0]!
            let b = points[$1]!
            return (a.avgBits, a.relProxyError, $0) < (b.avgBits, b.relProxyError, $1)
        }
    }

    /// The measured candidates on the Pareto front of (average bits, proxy error), by average bits.
    var front: [Int] {
        let order = byBits
        let kept = Pareto.front(
            bits: order.map { points[$0]!.avgBits }, error: order.map { points[$0]!.relProxyError })
        return kept.map { order[$0] }
    }

    /// The candidate a move by `action` reaches from the selection: ←/→ the previous or next point by
    /// bits, ↑/↓ the next front point with fewer or more bits, Home/End the first or last point by bits.
    func moved(_ action: Action) -> Int? {
        let order = byBits
        guard !order.isEmpty else { return nil }
        let i = selection.flatMap { order.firstIndex(of: $0) }
        switch action {
        case .left: return i.map { order[max(0, $0 - 1)] } ?? order.first
        case .right: return i.map { order[min(order.count - 1, $0 + 1)] } ?? order.first
        case .home: return order.first
        case .end: return order.last
        case .up, .down:
            // Up the plot is less error: more bits along the front; down is fewer bits. From a point off
            // the front, the first step reaches the front point at or beyond its bits.
            let f = front
            guard let sel = selection, let b = points[sel]?.avgBits else { return f.first }
            let onFront = f.contains(sel)
            if action == .up { return f.first { onFront ? points[$0]!.avgBits > b : points[$0]!.avgBits >= b } ?? sel }
            return f.last { onFront ? points[$0]!.avgBits < b : points[$0]!.avgBits <= b } ?? sel
        default: return selection
        }
    }
}

/// The keys of the trade-off view: one table for dispatch, footer and help.
enum TradeoffBindings {
    static let table: [KeyBinding] = [
        KeyBinding(
            keys: [.char("f"), .escape], label: "f/Esc", action: .back, context: .layer,
            help: "back to the heatmap (stops measuring; f again resumes)", footer: true),
        KeyBinding(
            keys: [.left, .char("h")], label: "←/h", action: .left, context: .layer,
            help: "previous point by average bits", footer: false),
        KeyBinding(
            keys: [.right, .char("l")], label: "→/l", action: .right, context: .layer,
            help: "next point by average bits", footer: false),
        KeyBinding(
            keys: [.up, .char("k")], label: "↑/k", action: .up, context: .layer,
            help: "along the Pareto front: more bits, less error", footer: false),
        KeyBinding(
            keys: [.down, .char("j")], label: "↓/j", action: .down, context: .layer,
            help: "along the Pareto front: fewer bits, more error", footer: false),
        KeyBinding(keys: [.home], label: "Home", action: .home, context: .layer, help: "fewest bits", footer: false),
        KeyBinding(keys: [.end], label: "End", action: .end, context: .layer, help: "most bits", footer: false),
        KeyBinding(
            keys: [.enter], label: "Enter", action: .applyPoint, context: .layer,
            help: "apply the point's settings to this layer (SpQR or GPTQ points)", footer: true),
        KeyBinding(
            keys: [.char("?")], label: "?", action: .help, context: .layer, help: "show or hide this help", footer: true
        ),
        KeyBinding(keys: [.char("q")], label: "q", action: .quit, context: .layer, help: "quit", footer: true),
    ]

    /// The action bound to `key` in the trade-off view.
    static func action(for key: Key) -> Action? { table.first { $0.keys.contains(key) }?.action }
}

extension AppState {
    /// Whether the trade-off view of the open layer is on screen.
    var tradeoffOpen: Bool { onLayer && tradeoff.map { $0.open && $0.layer == layer?.name } == true }

    /// The key bindings of the screen on show (the footer and the help list them).
    var activeBindings: [KeyBinding] { tradeoffOpen ? TradeoffBindings.table : KeyBindings.active(screen) }
}

/// What the trade-off measurement reports (`id` numbers the measurement).
enum TradeoffEvent: Sendable {
    /// The point of candidate `index`.
    case point(id: Int, index: Int, TradeoffPoint)
    /// The measurement ended: every point done, stopped by a newer run, or failed (`failed` says why).
    case finished(id: Int)
    case failed(id: Int, message: String)
}
