// Exports end to end: the explorer and `quantize --write-recipe` write the same recipe, and an export
// cancelled while it hashes leaves nothing behind.

import Foundation
import Testing

@testable import SpQRCore
@testable import SpQRExplorer

@Suite("Explorer and quantize write the same recipe")
struct SameRecipeTests {
    @Test("the recipe exported from the explorer's state equals the one quantize --write-recipe writes")
    func sameRecipe() throws {
        let file = "\(BinaryRunner.vectors)/synthetic-a.safetensors"
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spqr-same-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let fromCLI = dir.appendingPathComponent("cli.json").path
        let fromTUI = dir.appendingPathComponent("tui.json").path
        let q = try BinaryRunner.run([
            "quantize", file, "--layer", "W", "--hessian", file, "--hessian-tensor", "H",
            "--wbits", "4", "--write-recipe", fromCLI,
        ])
        #expect(q.status == 0, "\(q.stderr)")

        let checkpoint = try ModelFiles.openCheckpoint(file)
        let calibration = try ModelFiles.openCalibration(hessians: file, hessianTensor: "H")
        let terminal = MemoryTerminal(width: 120, height: 40)
        // The explorer started with --wbits 4: the command line's settings are the session defaults.
        var settings = SpQRConfig()
        settings.wbits = 4
        var state = ExplorerApp.initialState(
            checkpoint: checkpoint, calibration: calibration, settings: settings,
            width: 120, height: 40, capabilities: .full)
        state.selection = state.visibleRows.firstIndex { $0.name == "W" }!
        let app = ExplorerApp(
            state: state, terminal: terminal, runner: EffectRunner(checkpoint: checkpoint, calibration: calibration))
        terminal.events = [.key(.enter)]
        var turns = 0
        func measured(_ s: AppState) -> Bool {
            s.layer?.baselines != nil && s.layer?.result?.isPreview == false && s.layer?.result?.config.wbits == 4
                && s.reports["W"]?.rtn != nil && s.reports["W"]?.config.wbits == 4
                && s.layer?.equalBitBaselines != nil && s.reports["W"]?.gptqAtBits != nil
        }
        while !measured(app.state) && turns < 3000 {
            app.run(maxTurns: 1)
            turns += 1
        }
        terminal.events =
            [.key(.char("e"))] + Reducer.defaultRecipePath.map { _ in .key(.backspace) }
            + fromTUI.map { .key(.char($0)) } + [.key(.enter)]
        turns = 0
        while !FileManager.default.fileExists(atPath: fromTUI) && turns < 3000 {
            app.run(maxTurns: 1)
            turns += 1
        }
        let a = try Recipe.read(path: fromCLI)
        let b = try Recipe.read(path: fromTUI)
        #expect(a.defaults == b.defaults && a.model == b.model && a.calibration == b.calibration)
        #expect(a.layers.keys.sorted() == b.layers.keys.sorted())
        var fa = try #require(a.layers["W"]?.figures)
        var fb = try #require(b.layers["W"]?.figures)
        #expect(a.layers["W"]?.overrides == b.layers["W"]?.overrides && a.layers["W"]?.shape == b.layers["W"]?.shape)
        fa.seconds = nil
        fb.seconds = nil
        #expect(fa == fb)
        #expect(a.totals == b.totals)
    }
}

@Suite("Explorer export")
struct ExportTests {
    @Test("an export shows hashing progress and Esc cancels it: no recipe and no temporary file are left")
    func cancelMidHash() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spqr-export-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // A checkpoint with one small layer and 2 GiB of other data, stored sparse, so that hashing takes over
        // a second even with SHA instructions: time to see progress and cancel before it ends.
        let model = dir.appendingPathComponent("model.safetensors").path
        let layerBytes = 8 * 16 * 4
        let padding = 2 << 30
        let header: [String: Any] = [
            "model.layers.0.mlp.down_proj.weight": [
                "dtype": "F32", "shape": [8, 16], "data_offsets": [0, layerBytes],
            ],
            "padding": ["dtype": "U8", "shape": [padding], "data_offsets": [layerBytes, layerBytes + padding]],
        ]
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var file = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Data($0) } + json
        (0..<128).map { Float($0) / 100 }.withUnsafeBytes { file.append(contentsOf: $0) }
        try file.write(to: URL(fileURLWithPath: model))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: model))
        try handle.truncate(atOffset: UInt64(file.count + padding))
        try handle.close()
        let checkpoint = try ModelFiles.openCheckpoint(model)
        let terminal = MemoryTerminal(width: 120, height: 40)
        let state = ExplorerApp.initialState(
            checkpoint: checkpoint, calibration: IdentityCalibration(), settings: SpQRConfig(),
            width: 120, height: 40, capabilities: .full)
        let app = ExplorerApp(
            state: state, terminal: terminal,
            runner: EffectRunner(checkpoint: checkpoint, calibration: IdentityCalibration()))
        let recipe = dir.appendingPathComponent("recipe.json").path
        terminal.events =
            [.key(.char("e"))] + Reducer.defaultRecipePath.map { _ in .key(.backspace) }
            + recipe.map { .key(.char($0)) } + [.key(.enter)]
        var turns = 0
        while (app.state.exporting?.done ?? 0) == 0 && turns < 3000 {
            app.run(maxTurns: 1)
            turns += 1
        }
        let status = try #require(app.state.exporting, "the export ended before any progress was shown")
        #expect(status.total == (try FileManager.default.attributesOfItem(atPath: model)[.size] as? Int))
        app.run(maxTurns: 1)
        #expect(try #require(terminal.frames.last).text.contains("hashing model files"))
        terminal.events = [.key(.escape)]
        turns = 0
        while app.state.message?.contains("export cancelled") != true && turns < 3000 {
            app.run(maxTurns: 1)
            turns += 1
        }
        #expect(app.state.message == "export cancelled; nothing written to \(recipe)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["model.safetensors"])
    }
}
