// The pure reducer: (state, event) → new state and the effects to run. No I/O happens here. This file
// dispatches events and actions; text prompts and exports are in ReducerPrompts.swift, the cursor, zoom,
// mouse and list scrolling in ReducerViewport.swift, the setting steps in SettingControls.swift, and the
// session defaults and per-layer overrides in SessionSettings.swift, the model screen in ModelScreenReducer.swift.

import Foundation
import SpQRCore

enum Reducer {
    /// Applies one event to the state and returns the effects it asks for.
    static func reduce(_ s: inout AppState, _ event: AppEvent) -> [Effect] {
        switch event {
        case .terminal(let t): return terminal(&s, t)
        case .progress(let g, let phase, let fraction):
            if g == s.generation { s.layer?.progress = (phase, fraction) }
            return []
        case .result(let g, let name, let result, let report, let maps):
            guard g == s.generation, s.layer?.name == name else { return [] }
            s.layer?.result = result
            s.layer?.error = nil
            if let maps {
                s.layer?.maps = maps
                s.layer?.mapsStale = false
                s.layer?.report = report
                s.reports[name] = report
                s.layer?.baselines = nil
                s.layer?.equalBitBaselines = nil
                s.layer?.progress = ("baselines", 0)
            } else {
                let hasMaps = s.layer?.maps != nil
                s.layer?.mapsStale = hasMaps
            }
            return []
        case .baselines(let g, let name, let b, let report):
            guard g == s.generation, s.layer?.name == name else { return [] }
            s.layer?.baselines = b
            s.layer?.report = report
            s.reports[name] = report
            return []
        case .equalBitBaselines(let g, let name, let e, let report):
            guard g == s.generation, s.layer?.name == name else { return [] }
            s.layer?.equalBitBaselines = e
            s.layer?.report = report
            s.reports[name] = report
            s.layer?.progress = nil
            return []
        case .failed(let g, let name, let message):
            guard g == s.generation, s.layer?.name == name else { return [] }
            s.layer?.error = message
            s.layer?.progress = nil
            setMessage(&s, message, error: true)
            return []
        case .statistics(let stats, let failures):
            for i in s.rows.indices { if let st = stats[s.rows[i].name] { s.rows[i].statistics = st } }
            // A tensor whose statistics cannot be read (a file cut short since it was opened) says why.
            if let message = failures.sorted(by: { $0.key < $1.key }).first?.value {
                setMessage(&s, message, error: true)
            }
            return []
        // Events of an export other than the latest one started are dropped, except that a written file
        // is always reported.
        case .exportProgress(let id, let done, let total):
            if s.exporting?.id == id {
                s.exporting?.done = done
                s.exporting?.total = total
            }
            return []
        case .exported(let id, let path):
            if id == s.exportID { s.exporting = nil }
            setMessage(&s, "recipe written to \(path) (\(s.reports.count) measured layer(s))", error: false)
            return []
        case .exportCancelled(let id, let path):
            guard id == s.exportID else { return [] }
            s.exporting = nil
            setMessage(&s, "export cancelled; nothing written to \(path)", error: false)
            return []
        case .exportNeedsConfirmation(let id, let path):
            guard s.exporting?.id == id else { return [] }
            s.exporting = nil
            s.prompt = Prompt(kind: .confirmOverwrite(path: path), text: "")
            return []
        case .exportFailed(let id, let m):
            guard id == s.exportID else { return [] }
            s.exporting = nil
            setMessage(&s, m, error: true)
            return []
        case .tradeoff(let e): return tradeoffEvent(&s, e)
        case .recipeFailed(let m), .pictureFailed(let m):
            setMessage(&s, m, error: true)
            return []
        case .pictureWritten(let path):
            setMessage(&s, "picture written to \(path)", error: false)
            return []
        case .recipeLoaded(let recipe):
            // The recipe's defaults become the session's, and its overrides the layers'.
            s.defaults = recipe.defaults
            s.overrides = [:]
            for name in recipe.layers.keys {
                if let c = try? recipe.config(for: name) {
                    let d = Setting.differences(c, from: recipe.defaults)
                    if !d.isEmpty { s.overrides[name] = d }
                }
                if let f = recipe.layers[name]?.figures { s.reports[name] = f }
            }
            setMessage(&s, "recipe restored: defaults and \(recipe.layers.count) layer(s)", error: false)
            return s.onLayer ? requantize(&s) : []
        case .model(let e): return modelScreenEvent(&s, e)
        }
    }

    /// Shows `m` on the status line (as an error when `error`).
    static func setMessage(_ s: inout AppState, _ m: String, error: Bool) {
        s.message = m
        s.messageIsError = error
    }

    /// Terminal input: a resize, the mouse or a key.
    static func terminal(_ s: inout AppState, _ t: TerminalEvent) -> [Effect] {
        switch t {
        case .resize(let w, let h):
            s.width = w
            s.height = h
            clampViewport(&s)
            return []
        case .mouse(let m): return s.screen == .model ? modelScreenMouse(&s, m) : mouse(&s, m)
        case .key(let k): return key(&s, k)
        }
    }

    /// A key: an open prompt takes it; otherwise Esc cancels an export, the help scrolls or closes, the
    /// trade-off view takes its keys, and the key-binding table maps the rest to actions.
    static func key(_ s: inout AppState, _ k: Key) -> [Effect] {
        if s.prompt != nil { return promptKey(&s, k) }
        if k == .escape, s.exporting != nil {
            s.exporting = nil
            setMessage(&s, "cancelling the export…", error: false)
            return [.cancelExport]
        }
        if s.showHelp { return helpKey(&s, k) }
        if s.tradeoffOpen { return tradeoffKey(&s, k) }
        guard let action = KeyBindings.action(for: k, s.screen) else { return [] }
        return perform(&s, action)
    }

    /// What an action does on the current screen.
    static func perform(_ s: inout AppState, _ a: Action) -> [Effect] {
        if let effects = clusterKey(&s, a) { return effects }
        if s.screen == .model, moveModelCursor(&s, a) { return [] }
        switch a {
        case .quit:
            s.quit = true
            return s.onLayer ? [.cancel] : []
        case .help: s.showHelp.toggle()
        case .filter: s.prompt = Prompt(kind: .filter, text: s.filter)
        case .sort, .quantizableOnly:
            if a == .sort { s.sort = s.sort.next } else { s.quantizableOnly.toggle() }
            s.selection = 0
            s.browserScroll = 0
            return statisticsEffect(s)
        case .export: s.prompt = Prompt(kind: .exportPath, text: defaultRecipePath)
        case .openRecipe: s.prompt = Prompt(kind: .openRecipe, text: "")
        case .open:
            guard !s.onLayer, let row = s.selectedRow else { return [] }
            return open(&s, row)
        case .back:
            guard s.onLayer else { return [] }
            s.onLayer = false
            s.generation += 1
            return [.cancel] + statisticsEffect(s)
        case .up, .down, .pageUp, .pageDown, .home, .end, .left, .right:
            if s.onLayer { moveCursor(&s, a) } else { moveSelection(&s, a) }
            return s.onLayer ? [] : statisticsEffect(s)
        case .mode(let m): s.mode = m
        case .pooling: s.poolings[s.mode] = s.pooling.next(s.mode)
        case .range: s.wholeLayerRange.toggle()
        case .view: break  // clusterKey
        case .zoomIn, .zoomOut, .zoomReset: zoom(&s, a)
        case .wbitsDown, .wbitsUp, .groupDown, .groupUp, .thresholdDown, .thresholdUp, .thresholdOff,
            .advancedDecrease, .advancedIncrease:
            guard s.onLayer else { return [] }
            let before = s.settings
            if a == .thresholdOff, before.outlierThreshold.isFinite { s.thresholdBeforeOff = before.outlierThreshold }
            SettingControls.adjust(
                &s.settings, a, advancedFocus: s.advancedFocus, thresholdBeforeOff: s.thresholdBeforeOff)
            if a == .advancedDecrease || a == .advancedIncrease { s.showAdvanced = true }
            return s.settings == before ? [] : requantize(&s)
        case .applyToAll, .applyToType:
            guard s.onLayer, let name = s.layer?.name else { return [] }
            let scope = a == .applyToAll ? ApplyScope.all : .type(AppState.layerType(name))
            let changed = s.layersChanged(applying: s.settings, to: scope).count
            if changed > 1 {
                s.prompt = Prompt(kind: .confirmApply(scope, changed: changed), text: "")
                return []
            }
            apply(&s, to: scope)
        case .tradeoff: return toggleTradeoff(&s)
        case .applyPoint: return applyTradeoff(&s)
        case .advanced: s.showAdvanced.toggle()
        case .advancedPrevious:
            s.showAdvanced = true
            s.advancedFocus = (s.advancedFocus + SettingControls.advancedCount - 1) % SettingControls.advancedCount
        case .advancedNext:
            s.showAdvanced = true
            s.advancedFocus = (s.advancedFocus + 1) % SettingControls.advancedCount
        case .nextLayer, .previousLayer:
            guard s.onLayer, let current = s.layer?.name else { return [] }
            let rows = s.visibleRows.filter(\.quantizable)
            guard let i = rows.firstIndex(where: { $0.name == current }), !rows.isEmpty else { return [] }
            let j = (i + (a == .nextLayer ? 1 : rows.count - 1)) % rows.count
            if let k = s.visibleRows.firstIndex(where: { $0.name == rows[j].name }) { s.selection = k }
            return open(&s, rows[j])
        case .model(let m): return modelScreen(&s, m)
        }
        return []
    }

    /// Opens a layer (when it is a weight matrix) at its own last settings, and quantizes it.
    static func open(_ s: inout AppState, _ row: LayerRow) -> [Effect] {
        guard row.quantizable else {
            setMessage(&s, "\(row.name) cannot be quantized: \(row.reason ?? "not a weight matrix")", error: true)
            return []
        }
        s.onLayer = true
        s.layer = LayerSession(name: row.name, row: row)
        s.viewport = Viewport()
        s.message = row.note
        s.messageIsError = false
        return requantize(&s)
    }

    /// Asks for a new run of the open layer at the current settings; the new generation retires older runs.
    static func requantize(_ s: inout AppState) -> [Effect] {
        guard let name = s.layer?.name else { return [] }
        s.generation += 1
        s.layer?.progress = ("queued", 0)
        s.layer?.error = nil
        return [.quantize(generation: s.generation, layer: name, config: s.settings)]
    }

    /// Gives the open layer's settings to the layers of `scope` and says on the status line what changed.
    static func apply(_ s: inout AppState, to scope: ApplyScope) {
        let c = s.settings
        let changed = s.layersChanged(applying: c, to: scope).count
        let before = s.defaults
        s.apply(c, to: scope)
        let values = AppState.describe(Setting.differences(c, from: scope == .all ? before : s.defaults))
        let what =
            scope == .all
            ? "defaults now \(values.isEmpty ? "unchanged" : values) for \(scope.phrase), overrides cleared"
            : "\(values.isEmpty ? "the defaults" : values) for \(scope.phrase)"
        setMessage(&s, "\(what); \(changed) other layer(s) changed", error: false)
    }

    /// Asks for the quick statistics of the selected row when they are not known yet (after every change
    /// of the selected row: a move, a filter, a sort, the way back from a layer).
    static func statisticsEffect(_ s: AppState) -> [Effect] {
        guard let row = s.selectedRow, row.quantizable, row.statistics == nil else { return [] }
        return [.computeStatistics([row.name])]
    }
}
