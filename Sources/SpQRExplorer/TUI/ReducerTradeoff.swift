// The reducer's part for the trade-off view (key `f`) and the scrolling help overlay: opening the view
// starts measuring the grid's missing points off the input loop, its events fill the points in, the keys
// move between them, and Enter gives the layer the selected point's settings through the same path as
// the sliders (`AppState.settings`, so overrides and their markers follow).

import SpQRCore

extension Reducer {
    /// `f` in the layer view: opens the trade-off of the open layer (measuring what is missing) or closes it.
    static func toggleTradeoff(_ s: inout AppState) -> [Effect] {
        guard s.onLayer, let name = s.layer?.name else { return [] }
        if s.tradeoffOpen { return closeTradeoff(&s) }
        let candidates: [TradeoffCandidate]
        do {
            candidates = try TradeoffGrid.candidates(around: s.settings)
        } catch {
            setMessage(&s, "trade-off: \((error as? SpQRError)?.message ?? "\(error)")", error: true)
            return []
        }
        s.tradeoffID += 1
        var t = TradeoffSession(layer: name, id: s.tradeoffID, candidates: candidates)
        // The points of the same grid on the same layer are kept: reopening resumes the measurement.
        if let old = s.tradeoff, old.layer == name, old.candidates == candidates {
            t.points = old.points
            t.selection = old.selection
        }
        if t.selection == nil { t.selection = currentPoint(t, s.settings) }
        let missing = t.missing
        t.running = !missing.isEmpty
        s.tradeoff = t
        return missing.isEmpty
            ? [] : [.measureTradeoff(id: t.id, layer: name, candidates: candidates, indices: missing)]
    }

    /// Closes the trade-off view and stops its measurement; the points measured so far are kept.
    static func closeTradeoff(_ s: inout AppState) -> [Effect] {
        guard let t = s.tradeoff else { return [] }
        // A new number: the stopped measurement's late events are dropped.
        s.tradeoffID += 1
        s.tradeoff?.id = s.tradeoffID
        s.tradeoff?.open = false
        s.tradeoff?.running = false
        return t.running ? [.cancelTradeoff] : []
    }

    /// The measured SpQR or GPTQ point at settings `c`, if any.
    static func currentPoint(_ t: TradeoffSession, _ c: SpQRConfig) -> Int? {
        t.points.keys.sorted().first { t.points[$0]!.candidate.config == c && t.points[$0]!.candidate.method != .rtn }
    }

    /// The trade-off measurement's events; those of an older measurement are dropped.
    static func tradeoffEvent(_ s: inout AppState, _ e: TradeoffEvent) -> [Effect] {
        switch e {
        case .point(let id, let index, let p):
            guard s.tradeoff?.id == id else { return [] }
            s.tradeoff?.points[index] = p
            if s.tradeoff?.selection == nil || (p.candidate.config == s.settings && p.candidate.method != .rtn) {
                s.tradeoff?.selection = index
            }
        case .finished(let id):
            guard s.tradeoff?.id == id else { return [] }
            s.tradeoff?.running = false
        case .failed(let id, let message):
            guard s.tradeoff?.id == id else { return [] }
            s.tradeoff?.running = false
            s.tradeoff?.error = message
            setMessage(&s, message, error: true)
        }
        return []
    }

    /// A key while the trade-off view is open.
    static func tradeoffKey(_ s: inout AppState, _ k: Key) -> [Effect] {
        guard let a = TradeoffBindings.action(for: k) else { return [] }
        switch a {
        case .back: return closeTradeoff(&s)
        case .left, .right, .up, .down, .home, .end:
            let next = s.tradeoff?.moved(a)
            s.tradeoff?.selection = next
            return []
        default: return perform(&s, a)
        }
    }

    /// Enter: the selected point's settings become the open layer's (as a slider change would make them),
    /// the view closes and the layer is measured again.
    static func applyTradeoff(_ s: inout AppState) -> [Effect] {
        guard let t = s.tradeoff, let i = t.selection, let p = t.points[i] else { return [] }
        guard p.candidate.method != .rtn else {
            setMessage(
                &s, "round-to-nearest is a baseline: the explorer quantizes with GPTQ; Enter on a SpQR or GPTQ point",
                error: false)
            return []
        }
        let before = s.settings
        let c = p.candidate.config
        if !c.outlierThreshold.isFinite, before.outlierThreshold.isFinite {
            s.thresholdBeforeOff = before.outlierThreshold
        }
        s.settings = c
        let effects = closeTradeoff(&s)
        let changed = AppState.describe(Setting.differences(c, from: before))
        let figures = "\(Num.f(p.avgBits, 3)) bits, proxy err \(Num.e(p.relProxyError))"
        guard !changed.isEmpty else {
            setMessage(&s, "already at the \(p.candidate.method.rawValue) point's settings (\(figures))", error: false)
            return effects
        }
        setMessage(
            &s, "applied the \(p.candidate.method.rawValue) point (\(figures)): \(changed); f reopens the trade-off",
            error: false)
        return effects + requantize(&s)
    }

    /// A key while the help overlay is open: ↑/↓, PgUp/PgDn, Home/End scroll it; any other key closes it.
    static func helpKey(_ s: inout AppState, _ k: Key) -> [Effect] {
        let model = HelpModel(s)
        let area = Layout(width: s.width, height: s.height).body
        let page = max(1, HelpView.visibleRows(model, area) - 1)
        let last = HelpView.maxScroll(model, area)
        switch k {
        case .up, .char("k"): s.helpScroll -= 1
        case .down, .char("j"): s.helpScroll += 1
        case .pageUp: s.helpScroll -= page
        case .pageDown: s.helpScroll += page
        case .home: s.helpScroll = 0
        case .end: s.helpScroll = last
        default:
            s.showHelp = false
            s.helpScroll = 0
            return []
        }
        s.helpScroll = min(max(0, s.helpScroll), last)
        return []
    }
}
