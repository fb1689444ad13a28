// The pure reducer: (state, event) → new state and the effects to run. No I/O happens here.

import Foundation
import SpQRCore

enum Reducer {
    /// Slider steps.
    static let wbitsRange = 2...8
    static let groupSizes: [Int?] = [4, 8, 16, 32, 64, 128, 256, nil]
    static let thresholds: [Double] = [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5]

    /// The settings on the advanced panel, with the values each steps through.
    struct AdvancedSetting {
        let name: String
        let values: [String]
        let get: @Sendable (SpQRConfig) -> String
        let set: @Sendable (inout SpQRConfig, String) -> Void
    }

    static let advanced: [AdvancedSetting] = [
        AdvancedSetting(name: "qq_scale_bits", values: ["none", "2", "3", "4", "8"],
                        get: { $0.qqScaleBits.map(String.init) ?? "none" }, set: { $0.qqScaleBits = Int($1) }),
        AdvancedSetting(name: "qq_zero_bits", values: ["none", "2", "3", "4", "8"],
                        get: { $0.qqZeroBits.map(String.init) ?? "none" }, set: { $0.qqZeroBits = Int($1) }),
        AdvancedSetting(name: "qq_groupsize", values: ["8", "16", "32", "64", "128"],
                        get: { String($0.qqGroupsize) }, set: { $0.qqGroupsize = Int($1)! }),
        AdvancedSetting(name: "permutation_order", values: PermutationOrder.allCases.map(\.rawValue),
                        get: { $0.permutationOrder.rawValue }, set: { $0.permutationOrder = PermutationOrder(rawValue: $1)! }),
        AdvancedSetting(name: "percdamp", values: ["0.01", "0.1", "1.0"],
                        get: { String($0.percdamp) }, set: { $0.percdamp = Double($1)! }),
        AdvancedSetting(name: "simplified_outliers", values: ["false", "true"],
                        get: { String($0.simplifiedOutliers) }, set: { $0.simplifiedOutliers = $1 == "true" }),
    ]

    static let defaultRecipePath = "spqr-recipe.json"

    static func reduce(_ s: inout AppState, _ event: AppEvent) -> [Effect] {
        switch event {
        case .terminal(let t): return terminal(&s, t)
        case .layerLoaded(let g, let name, let w):
            if g == s.generation, s.layer?.name == name { s.layer?.weights = w }
            return []
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
                s.layerConfigs[name] = result.config
                s.layer?.baselines = nil
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
            s.layer?.progress = nil
            return []
        case .failed(let g, let name, let message):
            guard g == s.generation, s.layer?.name == name else { return [] }
            s.layer?.error = message
            s.layer?.progress = nil
            setMessage(&s, message, error: true)
            return []
        case .statistics(let stats):
            for i in s.rows.indices { if let st = stats[s.rows[i].name] { s.rows[i].statistics = st } }
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
        case .recipeFailed(let m):
            setMessage(&s, m, error: true)
            return []
        case .recipeLoaded(let recipe):
            s.settings = recipe.defaults
            for name in recipe.layers.keys {
                if let c = try? recipe.config(for: name) { s.layerConfigs[name] = c }
                if let f = recipe.layers[name]?.figures { s.reports[name] = f }
            }
            setMessage(&s, "recipe restored: defaults and \(recipe.layers.count) layer(s)", error: false)
            if s.onLayer, let name = s.layer?.name {
                s.settings = s.layerConfigs[name] ?? recipe.defaults
                return requantize(&s)
            }
            return []
        }
    }

    static func setMessage(_ s: inout AppState, _ m: String, error: Bool) {
        s.message = m
        s.messageIsError = error
    }

    static func terminal(_ s: inout AppState, _ t: TerminalEvent) -> [Effect] {
        switch t {
        case .resize(let w, let h):
            s.width = w
            s.height = h
            clampViewport(&s)
            return []
        case .mouse(let m): return mouse(&s, m)
        case .key(let k): return key(&s, k)
        }
    }

    static func key(_ s: inout AppState, _ k: Key) -> [Effect] {
        if s.prompt != nil { return promptKey(&s, k) }
        if k == .escape, s.exporting != nil {
            s.exporting = nil
            setMessage(&s, "cancelling the export…", error: false)
            return [.cancelExport]
        }
        if s.showHelp {
            s.showHelp = false
            return []
        }
        guard let action = KeyBindings.action(for: k, onLayer: s.onLayer) else { return [] }
        return perform(&s, action)
    }

    static func promptKey(_ s: inout AppState, _ k: Key) -> [Effect] {
        guard var p = s.prompt else { return [] }
        if case .confirmOverwrite(let path) = p.kind {
            s.prompt = nil
            if k == .char("y") || k == .char("Y") { return export(&s, path: path, overwrite: true) }
            setMessage(&s, "export cancelled; \(path) left as it was", error: false)
            return []
        }
        switch k {
        case .escape:
            if p.kind == .filter { s.filter = "" }
            s.prompt = nil
        case .enter:
            s.prompt = nil
            switch p.kind {
            case .filter: s.filter = p.text
            case .exportPath:
                let path = p.text.trimmingCharacters(in: .whitespaces)
                guard !path.isEmpty else { setMessage(&s, "no path given; nothing written", error: true); return [] }
                return export(&s, path: path, overwrite: false)
            case .openRecipe:
                let path = p.text.trimmingCharacters(in: .whitespaces)
                guard !path.isEmpty else { return [] }
                return [.importRecipe(path: path)]
            case .confirmOverwrite: break
            }
        case .backspace, .delete:
            if !p.text.isEmpty { p.text.removeLast() }
            s.prompt = p
            if p.kind == .filter { s.filter = p.text; s.selection = 0; s.browserScroll = 0 }
        case .char(let c):
            p.text.append(c)
            s.prompt = p
            if p.kind == .filter { s.filter = p.text; s.selection = 0; s.browserScroll = 0 }
        default: break
        }
        return []
    }

    /// Starts an export (one at a time).
    static func export(_ s: inout AppState, path: String, overwrite: Bool) -> [Effect] {
        if let e = s.exporting {
            setMessage(&s, "an export to \(e.path) is under way; wait for it or press Esc to cancel it", error: true)
            return []
        }
        s.exportID += 1
        s.exporting = ExportStatus(id: s.exportID, path: path)
        s.message = nil
        return [.exportRecipe(id: s.exportID, path: path, overwrite: overwrite, payload: payload(s))]
    }

    /// What an export writes: every visited layer's settings, and its figures only when they were measured
    /// at those settings (a layer still being re-measured is written without figures).
    static func payload(_ s: AppState) -> RecipePayload {
        var shapes: [String: [Int]] = [:]
        for r in s.rows where s.layerConfigs[r.name] != nil { shapes[r.name] = r.shape }
        let reports = s.reports.filter { s.layerConfigs[$0.key] == nil || s.layerConfigs[$0.key] == $0.value.config }
        return RecipePayload(defaults: s.settings, configs: s.layerConfigs, shapes: shapes, reports: reports)
    }

    static func perform(_ s: inout AppState, _ a: Action) -> [Effect] {
        switch a {
        case .quit:
            s.quit = true
            return s.onLayer ? [.cancel] : []
        case .help: s.showHelp.toggle()
        case .filter: s.prompt = Prompt(kind: .filter, text: s.filter)
        case .sort:
            let all = SortKey.allCases
            s.sort = all[(all.firstIndex(of: s.sort)! + 1) % all.count]
            s.selection = 0
            s.browserScroll = 0
        case .export: s.prompt = Prompt(kind: .exportPath, text: defaultRecipePath)
        case .openRecipe: s.prompt = Prompt(kind: .openRecipe, text: "")
        case .open:
            guard !s.onLayer, let row = s.selectedRow else { return [] }
            return open(&s, row)
        case .back:
            guard s.onLayer else { return [] }
            s.onLayer = false
            s.generation += 1
            return [.cancel]
        case .up, .down, .pageUp, .pageDown, .home, .end, .left, .right:
            if s.onLayer { moveCursor(&s, a) } else { moveSelection(&s, a) }
            return s.onLayer ? [] : statisticsEffect(s)
        case .mode(let m): s.mode = m
        case .zoomIn, .zoomOut, .zoomReset: zoom(&s, a)
        case .wbitsDown, .wbitsUp, .groupDown, .groupUp, .thresholdDown, .thresholdUp, .thresholdOff,
             .advancedDecrease, .advancedIncrease:
            guard s.onLayer else { return [] }
            let before = s.settings
            adjust(&s.settings, a, advancedFocus: s.advancedFocus)
            if a == .advancedDecrease || a == .advancedIncrease { s.showAdvanced = true }
            return s.settings == before ? [] : requantize(&s)
        case .advanced: s.showAdvanced.toggle()
        case .advancedPrevious:
            s.showAdvanced = true
            s.advancedFocus = (s.advancedFocus + advanced.count - 1) % advanced.count
        case .advancedNext:
            s.showAdvanced = true
            s.advancedFocus = (s.advancedFocus + 1) % advanced.count
        case .nextLayer, .previousLayer:
            guard s.onLayer, let current = s.layer?.name else { return [] }
            let rows = s.visibleRows.filter(\.quantizable)
            guard let i = rows.firstIndex(where: { $0.name == current }), !rows.isEmpty else { return [] }
            let j = (i + (a == .nextLayer ? 1 : rows.count - 1)) % rows.count
            if let k = s.visibleRows.firstIndex(where: { $0.name == rows[j].name }) { s.selection = k }
            return open(&s, rows[j])
        }
        return []
    }

    static func open(_ s: inout AppState, _ row: LayerRow) -> [Effect] {
        guard row.quantizable else {
            setMessage(&s, "\(row.name) cannot be quantized: \(row.reason ?? "not a weight matrix")", error: true)
            return []
        }
        s.onLayer = true
        s.layer = LayerSession(name: row.name, row: row)
        s.viewport = Viewport()
        if let c = s.layerConfigs[row.name] { s.settings = c }
        s.message = row.note
        s.messageIsError = false
        return requantize(&s)
    }

    static func requantize(_ s: inout AppState) -> [Effect] {
        guard let name = s.layer?.name else { return [] }
        s.generation += 1
        s.layer?.progress = ("queued", 0)
        s.layer?.error = nil
        s.layerConfigs[name] = s.settings
        return [.quantize(generation: s.generation, layer: name, config: s.settings)]
    }

    /// Applies a slider action to the settings.
    static func adjust(_ c: inout SpQRConfig, _ a: Action, advancedFocus: Int) {
        switch a {
        case .wbitsDown: c.wbits = max(wbitsRange.lowerBound, min(wbitsRange.upperBound, c.wbits - 1))
        case .wbitsUp: c.wbits = min(wbitsRange.upperBound, max(wbitsRange.lowerBound, c.wbits + 1))
        case .groupDown, .groupUp:
            let i = groupSizes.firstIndex(of: c.groupsize) ?? groupSizes.firstIndex(of: 16)!
            c.groupsize = groupSizes[max(0, min(groupSizes.count - 1, i + (a == .groupUp ? 1 : -1)))]
        case .thresholdDown, .thresholdUp:
            // From "off", either direction comes back at the highest threshold (the fewest outliers).
            if !c.outlierThreshold.isFinite {
                c.outlierThreshold = thresholds.last!
                return
            }
            let i = thresholds.lastIndex { $0 <= c.outlierThreshold * (1 + 1e-9) } ?? 0
            if a == .thresholdUp {
                c.outlierThreshold = i + 1 < thresholds.count ? thresholds[i + 1] : .infinity
            } else {
                let exact = thresholds[i] >= c.outlierThreshold * (1 - 1e-9)
                c.outlierThreshold = thresholds[max(0, exact ? i - 1 : i)]
            }
        case .thresholdOff:
            c.outlierThreshold = c.outlierThreshold.isFinite ? .infinity : 0.2
        case .advancedDecrease, .advancedIncrease:
            let setting = advanced[advancedFocus]
            let current = setting.get(c)
            let i = setting.values.firstIndex(of: current) ?? 0
            let j = max(0, min(setting.values.count - 1, i + (a == .advancedIncrease ? 1 : -1)))
            setting.set(&c, setting.values[j])
        default: break
        }
    }

    static func moveSelection(_ s: inout AppState, _ a: Action) {
        let n = s.visibleRows.count
        guard n > 0 else { return }
        let page = max(1, Layout(width: s.width, height: s.height).body.height - 2)
        switch a {
        case .up: s.selection -= 1
        case .down: s.selection += 1
        case .pageUp: s.selection -= page
        case .pageDown: s.selection += page
        case .home: s.selection = 0
        case .end: s.selection = n - 1
        default: break
        }
        s.selection = max(0, min(n - 1, s.selection))
        s.browserScroll = BrowserView.scroll(selection: s.selection, current: s.browserScroll,
                                             listHeight: Layout(width: s.width, height: s.height).body.height - 1)
    }

    static func statisticsEffect(_ s: AppState) -> [Effect] {
        guard let row = s.selectedRow, row.quantizable, row.statistics == nil else { return [] }
        return [.computeStatistics([row.name])]
    }

    static func geometry(_ s: AppState) -> HeatmapGeometry? {
        guard let shape = s.layer?.row.shape, shape.count == 2 else { return nil }
        return HeatmapGeometry(rows: shape[0], cols: shape[1], area: Layout(width: s.width, height: s.height).heatmap, viewport: s.viewport)
    }

    static func moveCursor(_ s: inout AppState, _ a: Action) {
        guard let g = geometry(s) else { return }
        var v = s.viewport
        let stepR = max(1, g.visibleRows / 4), stepC = max(1, g.visibleCols / 4)
        switch a {
        case .up:
            if v.cursorY > 0 { v.cursorY -= 1 } else { v.row0 -= stepR }
        case .down:
            if v.cursorY < g.area.height - 1 { v.cursorY += 1 } else { v.row0 += stepR }
        case .left:
            if v.cursorX > 0 { v.cursorX -= 1 } else { v.col0 -= stepC }
        case .right:
            if v.cursorX < g.area.width - 1 { v.cursorX += 1 } else { v.col0 += stepC }
        case .pageUp: v.row0 -= g.visibleRows
        case .pageDown: v.row0 += g.visibleRows
        case .home: v.cursorX = 0; v.cursorY = 0; v.row0 = 0; v.col0 = 0
        case .end: v.cursorX = g.area.width - 1; v.cursorY = g.area.height - 1
        default: break
        }
        s.viewport = v
        clampViewport(&s)
    }

    static func zoom(_ s: inout AppState, _ a: Action) {
        guard let g = geometry(s) else { return }
        let (rr, cc) = g.region(cellX: s.viewport.cursorX, cellY: s.viewport.cursorY)
        var v = s.viewport
        switch a {
        case .zoomIn: v.zoom = min(g.maxZoom, v.zoom * 2)
        case .zoomOut: v.zoom = max(1, v.zoom / 2)
        default: v = Viewport()
        }
        // Keep the weight under the cursor under the cursor.
        let ng = HeatmapGeometry(rows: g.rows, cols: g.cols, area: g.area, viewport: v)
        v.row0 = rr.lowerBound - v.cursorY * 2 * ng.visibleRows / max(1, 2 * g.area.height)
        v.col0 = cc.lowerBound - v.cursorX * ng.visibleCols / max(1, g.area.width)
        s.viewport = v
        clampViewport(&s)
    }

    static func clampViewport(_ s: inout AppState) {
        guard let g = geometry(s) else { return }
        var v = s.viewport
        v.zoom = max(1, min(v.zoom, g.maxZoom))
        let ng = HeatmapGeometry(rows: g.rows, cols: g.cols, area: g.area, viewport: v)
        v.row0 = max(0, min(v.row0, g.rows - ng.visibleRows))
        v.col0 = max(0, min(v.col0, g.cols - ng.visibleCols))
        v.cursorX = max(0, min(v.cursorX, max(0, g.area.width - 1)))
        v.cursorY = max(0, min(v.cursorY, max(0, g.area.height - 1)))
        s.viewport = v
    }

    static func mouse(_ s: inout AppState, _ m: MouseEvent) -> [Effect] {
        let layout = Layout(width: s.width, height: s.height)
        switch m {
        case .click(let x, let y):
            if s.onLayer {
                let a = layout.heatmap
                if x >= a.x, x < a.maxX, y >= a.y, y < a.maxY {
                    s.viewport.cursorX = x - a.x
                    s.viewport.cursorY = y - a.y
                }
            } else {
                let row = y - layout.body.y - 1 + s.browserScroll
                if y > layout.body.y, row >= 0, row < s.visibleRows.count { s.selection = row }
                return statisticsEffect(s)
            }
        case .wheelUp(let x, let y), .wheelDown(let x, let y):
            let up: Bool = { if case .wheelUp = m { return true } else { return false } }()
            if s.onLayer {
                let a = layout.heatmap
                if x >= a.x, x < a.maxX, y >= a.y, y < a.maxY {
                    s.viewport.cursorX = x - a.x
                    s.viewport.cursorY = y - a.y
                }
                zoom(&s, up ? .zoomIn : .zoomOut)
            } else {
                moveSelection(&s, up ? .up : .down)
            }
        }
        return []
    }
}
