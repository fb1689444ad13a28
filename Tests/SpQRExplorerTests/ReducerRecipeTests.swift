// The reducer's recipes: the export prompt and its payload, overwrite confirmation, progress and
// cancellation of an export, and restoring a recipe.

import Testing

@testable import SpQRCore
@testable import SpQRExplorer

@Suite("Reducer: recipe export and import")
struct ReducerRecipeTests {
    /// A layer screen with an export to r.json (number 1) started.
    func exporting() throws -> (AppState, [Effect]) {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        key(&s, .char("e"))
        for _ in 0..<Reducer.defaultRecipePath.count { key(&s, .backspace) }
        for c in "r.json" { key(&s, .char(c)) }
        let effects = key(&s, .enter)
        return (s, effects)
    }

    @Test("e opens the export prompt with the default path")
    func exportPrompt() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        key(&s, .char("e"))
        #expect(s.prompt == Prompt(kind: .exportPath, text: Reducer.defaultRecipePath))
    }

    @Test("Enter exports the settings and the measured layer to the typed path")
    func export() throws {
        let (s, e) = try exporting()
        guard case .exportRecipe(let id, let path, let overwrite, let payload)? = e.first else {
            Issue.record("no export effect")
            return
        }
        #expect(id == 1 && s.exporting?.id == 1)
        #expect(path == "r.json" && !overwrite)
        #expect(payload.defaults == s.settings && payload.reports.count == 1 && payload.shapes[qProj] == [48, 96])
    }

    @Test("a blank path writes nothing and says so")
    func blankPath() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        key(&s, .char("e"))
        for _ in 0..<Reducer.defaultRecipePath.count { key(&s, .backspace) }
        key(&s, .char(" "))
        #expect(key(&s, .enter).isEmpty && s.messageIsError && s.message == "no path given; nothing written")
    }

    @Test("while a layer is re-measured at new settings, its old figures are not exported with them")
    func payloadWhileRemeasured() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        key(&s, .char("W"))
        #expect(Reducer.payload(s).reports.isEmpty && Reducer.payload(s).configs.count == 1)
        key(&s, .char("w"))
        #expect(Reducer.payload(s).reports.count == 1)
    }

    @Test("an existing file asks before it is overwritten; y overwrites")
    func confirmOverwrite() throws {
        var (s, _) = try exporting()
        _ = Reducer.reduce(&s, .exportNeedsConfirmation(id: 1, path: "r.json"))
        #expect(s.prompt?.kind == .confirmOverwrite(path: "r.json") && s.exporting == nil)
        guard case .exportRecipe(2, _, true, _)? = key(&s, .char("y")).first else {
            Issue.record("no overwrite")
            return
        }
    }

    @Test("any other answer leaves the file as it was")
    func declineOverwrite() throws {
        var (s, _) = try exporting()
        _ = Reducer.reduce(&s, .exportNeedsConfirmation(id: 1, path: "r.json"))
        #expect(key(&s, .char("n")).isEmpty && s.message?.contains("left as it was") == true)
    }

    @Test("a written recipe is reported with its measured layers")
    func exported() throws {
        var (s, _) = try exporting()
        _ = Reducer.reduce(&s, .exported(id: 1, path: "r.json"))
        #expect(s.message == "recipe written to r.json (1 measured layer(s))")
        #expect(s.exporting == nil)
    }

    @Test("o asks for a recipe and Enter imports it")
    func importPrompt() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        key(&s, .char("o"))
        for c in "x.json" { key(&s, .char(c)) }
        #expect(key(&s, .enter) == [.importRecipe(path: "x.json")])
    }

    @Test("a restored recipe gives the open layer its override and re-runs it")
    func recipeLoaded() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        var defaults = SpQRConfig()
        defaults.wbits = 5
        let recipe = Recipe(
            created: "t", model: .init(path: "m", files: []),
            calibration: .init(kind: .none, file: nil, sha256: nil, nSequences: nil, label: "none"),
            defaults: defaults, layers: [qProj: .init(overrides: ["wbits": .int(6)], shape: [48, 96], figures: nil)])
        let effects = Reducer.reduce(&s, .recipeLoaded(recipe))
        #expect(s.settings.wbits == 6, "the open layer takes its override")
        #expect(effects.count == 1)
    }

    @Test("a recipe that cannot be read is reported as an error")
    func recipeFailed() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        _ = Reducer.reduce(&s, .recipeFailed(message: "bad"))
        #expect(s.messageIsError && s.message == "bad")
    }
}

@Suite("Reducer: export progress")
struct ReducerExportProgressTests {
    let path = Reducer.defaultRecipePath

    /// A layer screen with an export to the default path (number 1) under way.
    func started() throws -> AppState {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        key(&s, .char("e"))
        let started = key(&s, .enter)
        guard case .exportRecipe(1, Reducer.defaultRecipePath, false, _)? = started.first else {
            Issue.record("no export effect")
            return s
        }
        return s
    }

    @Test("progress shows on the status line")
    func progress() throws {
        var s = try started()
        #expect(s.exporting == ExportStatus(id: 1, path: path))
        _ = Reducer.reduce(&s, .exportProgress(id: 1, done: 1 << 30, total: 3 << 30))
        #expect(abs((s.exporting?.fraction ?? 0) - 1.0 / 3) < 1e-12)
        let status = Renderer.render(s).text.split(separator: "\n").map(String.init)[
            Layout(width: 120, height: 40).status.y]
        #expect(
            status.contains("hashing model files 1.0 GiB/3.0 GiB") && status.contains("33%")
                && status.contains("Esc cancels"), "\(status)")
    }

    @Test("a second export waits for the first")
    func oneAtATime() throws {
        var s = try started()
        key(&s, .char("e"))
        #expect(key(&s, .enter).isEmpty && s.messageIsError && s.message?.contains("under way") == true)
        #expect(s.exporting?.path == path)
    }

    @Test("Esc stops the export without leaving the layer; its late events are ignored")
    func cancel() throws {
        var s = try started()
        #expect(key(&s, .escape) == [.cancelExport])
        #expect(s.exporting == nil && s.onLayer)
        _ = Reducer.reduce(&s, .exportProgress(id: 1, done: 2 << 30, total: 3 << 30))
        #expect(s.exporting == nil)
        _ = Reducer.reduce(&s, .exportCancelled(id: 1, path: path))
        #expect(s.message == "export cancelled; nothing written to \(path)" && !s.messageIsError)
    }

    @Test("cancelled and started again at once: the old export's late events leave the new one alone")
    func restart() throws {
        var s = try started()
        key(&s, .escape)
        key(&s, .char("e"))
        guard case .exportRecipe(2, _, false, _)? = key(&s, .enter).first else {
            Issue.record("no second export")
            return
        }
        #expect(s.exporting == ExportStatus(id: 2, path: path))
        _ = Reducer.reduce(&s, .exportProgress(id: 1, done: 5, total: 10))
        _ = Reducer.reduce(&s, .exportCancelled(id: 1, path: path))
        _ = Reducer.reduce(&s, .exportFailed(id: 1, message: "stale"))
        #expect(s.exporting == ExportStatus(id: 2, path: path) && s.message == nil)
        _ = Reducer.reduce(&s, .exportProgress(id: 2, done: 4, total: 10))
        #expect(s.exporting?.done == 4)
    }

    @Test("a failure ends the export")
    func failure() throws {
        var s = try started()
        _ = Reducer.reduce(&s, .exportFailed(id: 1, message: "spqr-recipe.json: no space left on device"))
        #expect(s.exporting == nil && s.messageIsError)
    }
}
