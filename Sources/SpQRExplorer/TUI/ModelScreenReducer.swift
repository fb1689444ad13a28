// The model screen's part of the pure reducer: opening it (and asking for the measurement of every layer
// when the fronts of the session defaults are not known), the cursor over the grid, the figure, the budget
// slider (each step solves the allocation again: ModelFronts.allocate, milliseconds), applying the
// allocation to the session (SessionSettings.swift) and the measurement's events.

import Foundation
import SpQRCore

extension Reducer {
    /// What a model screen key does.
    static func modelScreen(_ s: inout AppState, _ a: ModelAction) -> [Effect] {
        switch a {
        case .open:
            var effects: [Effect] = []
            if s.onLayer {
                s.onLayer = false
                s.generation += 1
                effects.append(.cancel)
            }
            s.modelScreen.isOpen = true
            clampModelCursor(&s)
            let configs = try? ModelScreenState.menu.configs(around: s.defaults)
            if let f = s.modelScreen.fronts, f.configs == configs { return effects }
            if s.modelScreen.measuring != nil { return effects }
            // New defaults change the menu's other settings: the old fronts no longer describe the session.
            s.modelScreen.fronts = nil
            s.modelScreen.allocation = nil
            s.modelScreen.measurementID += 1
            // The status line shows the measurement's progress from here until the next message.
            s.message = nil
            s.modelScreen.measuring = FrontsStatus(
                layer: "", layersDone: 0, layers: ModelGrid(s.rows).cells.joined().compactMap { $0 }.count,
                cachedLayers: 0, fraction: 0)
            return effects + [
                .measureFronts(id: s.modelScreen.measurementID, menu: ModelScreenState.menu, base: s.defaults)
            ]
        case .close:
            s.modelScreen.isOpen = false
            return statisticsEffect(s)
        case .figure:
            s.modelScreen.figure = s.modelScreen.figure.next
        case .budget(let delta):
            guard let f = s.modelScreen.fronts, let b = s.modelScreen.budget else {
                setMessage(&s, "the budget applies once every layer is measured", error: false)
                return []
            }
            s.modelScreen.budget = ModelScreenState.clampBudget(((b + delta) * 10).rounded() / 10, f)
            solveAllocation(&s)
        case .apply:
            guard let a = s.modelScreen.allocation else {
                setMessage(&s, "nothing to apply: the allocation is solved once every layer is measured", error: true)
                return []
            }
            // As for A in the layer view: ask first when more than one layer would change.
            let changed = a.choices.filter { s.config(for: $0.layer) != $0.config }.count
            if changed > 1 {
                s.prompt = Prompt(kind: .confirmAllocation(changed: changed), text: "")
                return []
            }
            applyAllocation(&s, a)
        case .stopMeasurement:
            guard s.modelScreen.measuring != nil else { return [] }
            s.modelScreen.measuring = nil
            setMessage(
                &s, "measurement stopped; the layers measured so far stay in the cache (M resumes)", error: false)
            return [.stopFronts]
        case .openLayer:
            let m = s.modelScreen
            guard let name = ModelGrid(s.rows).layer(row: m.row, column: m.column),
                let row = s.rows.first(where: { $0.name == name })
            else {
                setMessage(&s, "no layer in this cell", error: false)
                return []
            }
            // The model screen stays open underneath: Esc in the layer view comes back to it.
            return open(&s, row)
        }
        return []
    }

    /// Moves the model screen's cursor for a movement action; false for any other action.
    static func moveModelCursor(_ s: inout AppState, _ a: Action) -> Bool {
        let grid = ModelGrid(s.rows)
        let page = ModelScreenLayout(Layout(width: s.width, height: s.height).body).list.page
        switch a {
        case .up: s.modelScreen.row -= 1
        case .down: s.modelScreen.row += 1
        case .pageUp: s.modelScreen.row -= page
        case .pageDown: s.modelScreen.row += page
        case .home: s.modelScreen.row = 0
        case .end: s.modelScreen.row = grid.blocks.count - 1
        case .left: s.modelScreen.column -= 1
        case .right: s.modelScreen.column += 1
        default: return false
        }
        clampModelCursor(&s)
        return true
    }

    /// A click puts the cursor on the grid cell under it; the wheel moves it over the blocks.
    static func modelScreenMouse(_ s: inout AppState, _ m: MouseEvent) -> [Effect] {
        switch m {
        case .click(let x, let y):
            let layout = ModelScreenLayout(Layout(width: s.width, height: s.height).body)
            let grid = ModelGrid(s.rows)
            let column = x - layout.list.area.x - ModelScreenLayout.labelWidth
            guard let row = layout.list.row(atY: y, scroll: s.modelScreen.scroll), row < grid.blocks.count,
                column >= 0
            else { return [] }
            s.modelScreen.row = row
            s.modelScreen.column = column / layout.cellWidth(types: grid.types.count)
            clampModelCursor(&s)
        case .wheelUp: _ = moveModelCursor(&s, .up)
        case .wheelDown: _ = moveModelCursor(&s, .down)
        }
        return []
    }

    /// Keeps the cursor on the grid and its row in view.
    static func clampModelCursor(_ s: inout AppState) {
        let grid = ModelGrid(s.rows)
        let list = ModelScreenLayout(Layout(width: s.width, height: s.height).body).list
        s.modelScreen.row = max(0, min(s.modelScreen.row, grid.blocks.count - 1))
        s.modelScreen.column = max(0, min(s.modelScreen.column, grid.types.count - 1))
        s.modelScreen.scroll = list.scroll(selection: s.modelScreen.row, current: s.modelScreen.scroll)
    }

    /// The measurement's events; those of a measurement other than the latest one started are dropped.
    static func modelScreenEvent(_ s: inout AppState, _ e: ModelScreenEvent) -> [Effect] {
        switch e {
        case .progress(let id, let status):
            guard id == s.modelScreen.measurementID, s.modelScreen.measuring != nil else { return [] }
            s.modelScreen.measuring = status
        case .measured(let id, let fronts):
            guard id == s.modelScreen.measurementID else { return [] }
            let cached = s.modelScreen.measuring?.cachedLayers ?? 0
            s.modelScreen.measuring = nil
            s.modelScreen.fronts = fronts
            s.modelScreen.budget = ModelScreenState.clampBudget(
                s.modelScreen.budget ?? ModelScreenState.initialBudget(fronts, defaults: s.defaults), fronts)
            setMessage(
                &s,
                "\(fronts.layers.count) layers measured over \(fronts.configs.count) settings (\(cached) from the cache)",
                error: false)
            solveAllocation(&s)
        case .failed(let id, let message):
            guard id == s.modelScreen.measurementID else { return [] }
            s.modelScreen.measuring = nil
            setMessage(&s, message, error: true)
        case .stopped(let id):
            guard id == s.modelScreen.measurementID else { return [] }
            s.modelScreen.measuring = nil
        }
        return []
    }

    /// Solves the allocation for the budget; a target out of reach says so and leaves no allocation.
    static func solveAllocation(_ s: inout AppState) {
        guard let f = s.modelScreen.fronts, let b = s.modelScreen.budget else { return }
        do {
            s.modelScreen.allocation = try f.allocate(.averageBits(b))
        } catch {
            s.modelScreen.allocation = nil
            setMessage(&s, (error as? SpQRError)?.message ?? "\(error)", error: true)
        }
    }

    /// The answer to the apply prompt: y applies the allocation on screen, any other key leaves every layer
    /// as it was.
    static func confirmAllocation(_ s: inout AppState, yes: Bool) {
        guard yes, let a = s.modelScreen.allocation else {
            setMessage(&s, "nothing applied; every layer keeps its settings", error: false)
            return
        }
        applyAllocation(&s, a)
    }

    /// The allocation's most common setting becomes the session defaults and every other layer's setting
    /// its overrides (replacing the overrides there were), so an export writes the allocation as a recipe.
    static func applyAllocation(_ s: inout AppState, _ a: Allocation) {
        let before = s.defaults
        s.defaults = a.commonConfig
        s.overrides = [:]
        for c in a.choices {
            let d = Setting.differences(c.config, from: s.defaults)
            if !d.isEmpty { s.overrides[c.layer] = d }
        }
        let changed = AppState.describe(Setting.differences(s.defaults, from: before))
        setMessage(
            &s,
            "allocation applied: defaults \(changed.isEmpty ? "unchanged" : changed), \(s.overrides.count) of \(a.choices.count) layers override them; e exports the recipe",
            error: false)
    }
}

extension ModelScreenState {
    /// The least and the most average bits the menu gives the model (every layer at its cheapest, or its
    /// most expensive, setting).
    static func reach(_ f: ModelFronts) -> (lowest: Double, highest: Double) {
        let n = Double(max(f.parameters, 1))
        let lo = f.layers.reduce(0) { $0 + Double($1.parameters) * ($1.points.map(\.avgBits).min() ?? 0) }
        let hi = f.layers.reduce(0) { $0 + Double($1.parameters) * ($1.points.map(\.avgBits).max() ?? 0) }
        return (lo / n, hi / n)
    }

    /// `b` within the slider's range: from the first step of 0.1 above the least the menu reaches (so it is
    /// always within reach) to the first step at or above the most.
    static func clampBudget(_ b: Double, _ f: ModelFronts) -> Double {
        let r = reach(f)
        let lo = ((r.lowest + 1e-9) * 10).rounded(.up) / 10
        let hi = max(lo, (r.highest * 10).rounded(.up) / 10)
        return min(hi, max(lo, b))
    }

    /// The first target: the average bits of every layer at the session defaults (when the menu has them),
    /// else the middle of the menu's reach, to a step of 0.1 below.
    static func initialBudget(_ f: ModelFronts, defaults: SpQRConfig) -> Double {
        let b: Double
        if let k = f.configs.firstIndex(of: defaults) {
            b = f.uniform(k).avgBits
        } else {
            let r = reach(f)
            b = (r.lowest + r.highest) / 2
        }
        return ((b + 1e-9) * 10).rounded(.down) / 10
    }
}
