// The reducer, action by action and event by event.

import Foundation
import Testing
@testable import SpQRCore
@testable import SpQRExplorer

@Suite("Reducer")
struct ReducerTests {
    func key(_ s: inout AppState, _ k: Key) -> [Effect] { Reducer.reduce(&s, .terminal(.key(k))) }

    @Test("quit, help, resize")
    func basics() {
        var s = ExplorerFixtures.state(width: 120, height: 40)
        _ = key(&s, .char("?"))
        #expect(s.showHelp)
        _ = key(&s, .char("x"))
        #expect(!s.showHelp, "any key closes the help")
        _ = Reducer.reduce(&s, .terminal(.resize(width: 90, height: 30)))
        #expect(s.width == 90 && s.height == 30)
        _ = key(&s, .char("q"))
        #expect(s.quit)
    }

    @Test("browser: moving, filtering, sorting")
    func browser() {
        var s = ExplorerFixtures.state(width: 120, height: 40)
        #expect(s.visibleRows.count == 8)
        #expect(s.selectedRow?.quantizable == true)
        s.selection = 0
        _ = key(&s, .up)
        #expect(s.selection == 0)
        _ = key(&s, .down)
        _ = key(&s, .char("j"))
        #expect(s.selection == 2)
        _ = key(&s, .end)
        #expect(s.selection == 7)
        _ = key(&s, .pageDown)
        #expect(s.selection == 7)
        _ = key(&s, .pageUp)
        #expect(s.selection == 0, "a page is longer than the list")
        _ = key(&s, .home)
        #expect(s.selection == 0)
        _ = key(&s, .char("/"))
        for c in "down" { _ = key(&s, .char(c)) }
        #expect(s.filter == "down" && s.visibleRows.map(\.name) == ["model.layers.0.mlp.down_proj.weight", "model.layers.1.mlp.down_proj.weight"])
        _ = key(&s, .backspace)
        #expect(s.filter == "dow")
        _ = key(&s, .enter)
        #expect(s.prompt == nil && s.filter == "dow")
        _ = key(&s, .char("/"))
        _ = key(&s, .escape)
        #expect(s.filter == "" && s.prompt == nil)
        _ = key(&s, .char("s"))
        #expect(s.sort == .size && s.visibleRows.first?.name.hasSuffix("down_proj.weight") == true)
        _ = key(&s, .char("s"))
        #expect(s.sort == .error)
        _ = key(&s, .char("s"))
        #expect(s.sort == .name)
    }

    @Test("a click selects the row under it in a scrolled list")
    func clickInScrolledList() {
        var s = ExplorerFixtures.state(width: 100, height: 20)   // 16 list rows: 8 layers fit
        s.rows += (0..<30).map { LayerRow(name: "model.layers.\($0 + 2).mlp.up_proj.weight", block: "model.layers.\($0 + 2)", shape: [4, 4],
                                          dtype: "F32", bitsPerWeight: 32, quantizable: true, reason: nil, note: nil, statistics: nil) }
        _ = key(&s, .end)
        #expect(s.selection == 37 && s.browserScroll == 37 - 16 + 1)
        let body = Layout(width: 100, height: 20).body
        _ = Reducer.reduce(&s, .terminal(.mouse(.click(x: 3, y: body.y + 1))))
        #expect(s.selection == s.browserScroll)
        let line = Renderer.render(s).text.split(separator: "\n")[body.y + 1]
        #expect(line.hasPrefix(" \(s.selectedRow!.block!.split(separator: ".").last!) "), "\(line)")
    }

    @Test("opening a layer asks for a quantization; a norm cannot be opened")
    func open() {
        var s = ExplorerFixtures.state(width: 120, height: 40)
        s.selection = s.visibleRows.firstIndex { $0.name == "model.layers.0.input_layernorm.weight" }!
        #expect(key(&s, .enter).isEmpty)
        #expect(s.messageIsError && s.message?.contains("cannot be quantized: 1-D tensor") == true)
        s.selection = s.visibleRows.firstIndex { $0.name == "model.layers.0.self_attn.q_proj.weight" }!
        let effects = key(&s, .enter)
        #expect(s.onLayer && s.layer?.name == "model.layers.0.self_attn.q_proj.weight")
        #expect(effects == [.quantize(generation: s.generation, layer: "model.layers.0.self_attn.q_proj.weight", config: SpQRConfig())])
        #expect(key(&s, .escape) == [.cancel])
        #expect(!s.onLayer)
    }

    @Test("sliders change the settings and re-run with a new generation")
    func sliders() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        let g0 = s.generation
        var e = key(&s, .char("W"))
        #expect(s.settings.wbits == 4 && s.generation == g0 + 1)
        #expect(e == [.quantize(generation: g0 + 1, layer: "model.layers.0.self_attn.q_proj.weight", config: s.settings)])
        for _ in 0..<10 { _ = key(&s, .char("W")) }
        #expect(s.settings.wbits == 8)
        for _ in 0..<10 { _ = key(&s, .char("w")) }
        #expect(s.settings.wbits == 2)
        e = key(&s, .char("w"))
        #expect(e.isEmpty, "no change, no run")
        _ = key(&s, .char("G"))
        #expect(s.settings.groupsize == 32)
        for _ in 0..<6 { _ = key(&s, .char("G")) }
        #expect(s.settings.groupsize == nil)
        _ = key(&s, .char("g"))
        #expect(s.settings.groupsize == 256)
        _ = key(&s, .char("T"))
        #expect(s.settings.outlierThreshold == 0.3)
        _ = key(&s, .char("t"))
        _ = key(&s, .char("t"))
        #expect(s.settings.outlierThreshold == 0.15)
        _ = key(&s, .char("x"))
        #expect(s.settings.outlierThreshold == .infinity)
        _ = key(&s, .char("x"))
        #expect(s.settings.outlierThreshold == 0.2)
        _ = key(&s, .char("a"))
        #expect(s.showAdvanced)
        _ = key(&s, .char("]"))
        #expect(s.advancedFocus == 1)
        _ = key(&s, .char("["))
        _ = key(&s, .char("["))
        #expect(s.advancedFocus == Reducer.advanced.count - 1)
        s.advancedFocus = 3
        _ = key(&s, .char(">"))
        #expect(s.settings.permutationOrder == .spearman)
        _ = key(&s, .char("<"))
        _ = key(&s, .char("<"))
        #expect(s.settings.permutationOrder == .identity)
        #expect(s.layerConfigs["model.layers.0.self_attn.q_proj.weight"] == s.settings)
    }

    @Test("modes, zoom, cursor and panning")
    func heatmapNavigation() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        for m in HeatmapMode.allCases {
            _ = key(&s, .char(Character("\(m.rawValue)")))
            #expect(s.mode == m)
        }
        _ = key(&s, .right)
        _ = key(&s, .char("j"))
        #expect(s.viewport.cursorX == 1 && s.viewport.cursorY == 1)
        _ = key(&s, .left)
        _ = key(&s, .left)
        #expect(s.viewport.cursorX == 0 && s.viewport.col0 == 0, "no panning past the edge at zoom 1")
        _ = key(&s, .char("+"))
        #expect(s.viewport.zoom == 2)
        _ = key(&s, .char("+"))
        _ = key(&s, .char("-"))
        #expect(s.viewport.zoom == 2)
        let g = Reducer.geometry(s)!
        #expect(g.visibleRows == 24 && g.visibleCols == 48)
        for _ in 0..<200 { _ = key(&s, .right) }
        #expect(s.viewport.col0 == 96 - 48, "panned to the right edge")
        _ = key(&s, .char("0"))
        #expect(s.viewport.zoom == 1 && s.viewport.col0 == 0)
        _ = Reducer.reduce(&s, .terminal(.mouse(.click(x: 5, y: 4))))
        let a = Layout(width: 120, height: 40).heatmap
        #expect(s.viewport.cursorX == 5 - a.x && s.viewport.cursorY == 4 - a.y)
        _ = Reducer.reduce(&s, .terminal(.mouse(.wheelUp(x: 5, y: 4))))
        #expect(s.viewport.zoom == 2)
    }

    @Test("next and previous layer")
    func layerStepping() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        // List order: by block, then name (down_proj, k_proj, q_proj).
        _ = key(&s, .char("n"))
        #expect(s.layer?.name == "model.layers.1.mlp.down_proj.weight")
        #expect(s.selectedRow?.name == "model.layers.1.mlp.down_proj.weight")
        _ = key(&s, .char("p"))
        _ = key(&s, .char("p"))
        #expect(s.layer?.name == "model.layers.0.self_attn.k_proj.weight")
    }

    @Test("effect results: stale generations are ignored, current ones shown")
    func results() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        let name = "model.layers.0.self_attn.q_proj.weight"
        let result = try #require(s.layer?.result)
        _ = key(&s, .char("W"))
        #expect(s.layer?.result?.config.wbits == 3)
        _ = Reducer.reduce(&s, .result(generation: s.generation - 1, layer: name, result: result,
                                       report: LayerReport(layer: name, result: result, baselines: nil), maps: nil))
        #expect(s.layer?.mapsStale == false, "a stale result changes nothing")
        _ = Reducer.reduce(&s, .progress(generation: s.generation, phase: "full layer", fraction: 0.5))
        #expect(s.layer?.progress?.fraction == 0.5)
        _ = Reducer.reduce(&s, .result(generation: s.generation, layer: name, result: result,
                                       report: LayerReport(layer: name, result: result, baselines: nil), maps: nil))
        #expect(s.layer?.mapsStale == true, "a preview keeps the previous map, marked")
        _ = Reducer.reduce(&s, .failed(generation: s.generation, layer: name, message: "boom"))
        #expect(s.layer?.error == "boom" && s.messageIsError && s.layer?.progress == nil)
        _ = Reducer.reduce(&s, .statistics([name: TensorStatistics([1, -1])]))
        #expect(s.rows.first { $0.name == name }?.statistics?.std == 1)
    }

    @Test("export: prompt, write, confirm overwrite; import restores settings")
    func recipes() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        _ = key(&s, .char("e"))
        #expect(s.prompt == Prompt(kind: .exportPath, text: Reducer.defaultRecipePath))
        for _ in 0..<Reducer.defaultRecipePath.count { _ = key(&s, .backspace) }
        for c in "r.json" { _ = key(&s, .char(c)) }
        let e = key(&s, .enter)
        guard case .exportRecipe(let id, let path, let overwrite, let payload)? = e.first else { Issue.record("no export effect"); return }
        #expect(id == 1 && s.exporting?.id == 1)
        #expect(path == "r.json" && !overwrite)
        #expect(payload.defaults == s.settings && payload.reports.count == 1 && payload.shapes["model.layers.0.self_attn.q_proj.weight"] == [48, 96])
        // While a layer is re-measured at new settings, its old figures are not exported with them.
        _ = key(&s, .char("W"))
        #expect(Reducer.payload(s).reports.isEmpty && Reducer.payload(s).configs.count == 1)
        _ = key(&s, .char("w"))
        #expect(Reducer.payload(s).reports.count == 1)
        _ = Reducer.reduce(&s, .exportNeedsConfirmation(id: 1, path: "r.json"))
        #expect(s.prompt?.kind == .confirmOverwrite(path: "r.json") && s.exporting == nil)
        guard case .exportRecipe(2, _, true, _)? = key(&s, .char("y")).first else { Issue.record("no overwrite"); return }
        _ = Reducer.reduce(&s, .exportNeedsConfirmation(id: 2, path: "r.json"))
        #expect(key(&s, .char("n")).isEmpty && s.message?.contains("left as it was") == true)
        _ = Reducer.reduce(&s, .exported(id: 2, path: "r.json"))
        #expect(s.message == "recipe written to r.json (1 measured layer(s))")
        _ = key(&s, .char("o"))
        for c in "x.json" { _ = key(&s, .char(c)) }
        #expect(key(&s, .enter) == [.importRecipe(path: "x.json")])
        var defaults = SpQRConfig()
        defaults.wbits = 5
        let recipe = Recipe(created: "t", model: .init(path: "m", files: []),
                            calibration: .init(kind: .none, file: nil, sha256: nil, nSequences: nil, label: "none"),
                            defaults: defaults, layers: ["model.layers.0.self_attn.q_proj.weight": .init(overrides: ["wbits": .int(6)], shape: [48, 96], figures: nil)])
        let effects = Reducer.reduce(&s, .recipeLoaded(recipe))
        #expect(s.settings.wbits == 6, "the open layer takes its override")
        #expect(effects.count == 1)
        _ = Reducer.reduce(&s, .recipeFailed(message: "bad"))
        #expect(s.messageIsError && s.message == "bad")
    }

    @Test("export: progress on the status line, one export at a time, Esc cancels it")
    func exportProgress() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        _ = key(&s, .char("e"))
        let started = key(&s, .enter)
        guard case .exportRecipe(1, Reducer.defaultRecipePath, false, _)? = started.first else { Issue.record("no export effect"); return }
        #expect(s.exporting == ExportStatus(id: 1, path: Reducer.defaultRecipePath))
        _ = Reducer.reduce(&s, .exportProgress(id: 1, done: 1 << 30, total: 3 << 30))
        #expect(abs((s.exporting?.fraction ?? 0) - 1.0 / 3) < 1e-12)
        let status = Renderer.render(s).text.split(separator: "\n").map(String.init)[Layout(width: 120, height: 40).status.y]
        #expect(status.contains("hashing model files 1.0 GiB/3.0 GiB") && status.contains("33%") && status.contains("Esc cancels"), "\(status)")

        // A second export waits for the first.
        _ = key(&s, .char("e"))
        #expect(key(&s, .enter).isEmpty && s.messageIsError && s.message?.contains("under way") == true)
        #expect(s.exporting?.path == Reducer.defaultRecipePath)

        // Esc stops the export (and does not leave the layer); a late progress event is ignored.
        #expect(key(&s, .escape) == [.cancelExport])
        #expect(s.exporting == nil && s.onLayer)
        _ = Reducer.reduce(&s, .exportProgress(id: 1, done: 2 << 30, total: 3 << 30))
        #expect(s.exporting == nil)
        _ = Reducer.reduce(&s, .exportCancelled(id: 1, path: Reducer.defaultRecipePath))
        #expect(s.message == "export cancelled; nothing written to \(Reducer.defaultRecipePath)" && !s.messageIsError)

        // Cancelled and started again at once: the old export's late events leave the new one alone.
        _ = key(&s, .char("e"))
        _ = key(&s, .enter)
        _ = key(&s, .escape)
        _ = key(&s, .char("e"))
        guard case .exportRecipe(3, _, false, _)? = key(&s, .enter).first else { Issue.record("no third export"); return }
        #expect(s.exporting == ExportStatus(id: 3, path: Reducer.defaultRecipePath))
        _ = Reducer.reduce(&s, .exportProgress(id: 2, done: 5, total: 10))
        _ = Reducer.reduce(&s, .exportCancelled(id: 2, path: Reducer.defaultRecipePath))
        _ = Reducer.reduce(&s, .exportFailed(id: 2, message: "stale"))
        #expect(s.exporting == ExportStatus(id: 3, path: Reducer.defaultRecipePath) && s.message == nil)
        _ = Reducer.reduce(&s, .exportProgress(id: 3, done: 4, total: 10))
        #expect(s.exporting?.done == 4)

        // A failure ends the export too.
        _ = Reducer.reduce(&s, .exportFailed(id: 3, message: "spqr-recipe.json: no space left on device"))
        #expect(s.exporting == nil && s.messageIsError)
    }
}
