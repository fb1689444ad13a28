// The reducer's session defaults and per-layer overrides: a change on the open layer overrides only that
// setting there, A gives the open layer's settings to all layers (the new defaults), Y to the layers of
// its type, and the export writes the defaults and only real overrides.

import Testing

@testable import SpQRCore
@testable import SpQRExplorer

@Suite("Reducer: session defaults and per-layer overrides")
struct ReducerOverridesTests {
    static let qProj1 = "model.layers.1.self_attn.q_proj.weight"
    static let kProj0 = "model.layers.0.self_attn.k_proj.weight"

    /// Opens `name` from the layer list (Esc first when a layer is open).
    func open(_ s: inout AppState, _ name: String) {
        if s.onLayer { key(&s, .escape) }
        _ = Reducer.open(&s, s.rows.first { $0.name == name }!)
    }

    @Test("a change on the open layer overrides that setting there only; changing it back clears it")
    func override() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        key(&s, .char("W"))
        #expect(s.overrides == [qProj: ["wbits": .integer(4)]] && s.defaults == SpQRConfig())
        open(&s, Self.kProj0)
        #expect(s.settings == SpQRConfig(), "another layer uses the defaults")
        key(&s, .char("G"))
        open(&s, qProj)
        #expect(s.settings.wbits == 4 && s.settings.groupsize == SpQRConfig().groupsize)
        key(&s, .char("w"))
        #expect(s.overrides[qProj] == nil && s.overrides[Self.kProj0] == ["groupsize": .integer(32)])
    }

    @Test("A asks first when more than one layer changes; y makes the settings the defaults and clears overrides")
    func applyToAll() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        key(&s, .char("W"))
        #expect(key(&s, .char("A")).isEmpty)
        // The fixture has six weight matrices; the five besides the open one change.
        #expect(s.prompt?.kind == .confirmApply(.all, changed: 5) && s.defaults.wbits == 3)
        key(&s, .char("y"))
        #expect(s.prompt == nil && s.defaults.wbits == 4 && s.overrides.isEmpty && s.settings.wbits == 4)
        #expect(s.message == "defaults now wbits 4 for all layers, overrides cleared; 5 other layer(s) changed")
    }

    @Test("any answer but y to the apply prompt leaves every layer as it was")
    func declineApply() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        key(&s, .char("W"))
        key(&s, .char("A"))
        key(&s, .char("n"))
        #expect(s.defaults.wbits == 3 && s.overrides == [qProj: ["wbits": .integer(4)]])
        #expect(s.message == "nothing applied; every layer keeps its settings")
    }

    @Test("Y gives the layers of the open layer's type its overrides (one other layer: no prompt)")
    func applyToType() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        key(&s, .char("W"))
        key(&s, .char("T"))
        #expect(key(&s, .char("Y")).isEmpty && s.prompt == nil)
        let o: [String: SettingValue] = ["wbits": .integer(4), "outlier_threshold": .number(0.3)]
        #expect(s.overrides == [qProj: o, Self.qProj1: o] && s.defaults == SpQRConfig())
        #expect(
            s.message == "wbits 4 · outlier_threshold 0.3 for every self_attn.q_proj layer; 1 other layer(s) changed")
        // The export: the session defaults, and only the two real overrides (the measured layer was
        // measured at wbits 3, so it goes without figures).
        let p = Reducer.payload(s)
        let recipe = Recipe.make(
            model: .init(path: "m", files: []),
            calibration: .init(kind: .none, file: nil, sha256: nil, nSequences: nil, label: "none"),
            defaults: p.defaults, configs: p.configs, shapes: p.shapes, reports: p.reports)
        #expect(recipe.defaults == SpQRConfig() && Set(recipe.layers.keys) == [qProj, Self.qProj1])
        #expect(recipe.layers[Self.qProj1]?.overrides == ["wbits": .int(4), "outlier_threshold": .double(0.3)])
        #expect(try recipe.config(for: qProj) == s.settings && p.reports.isEmpty)
    }

    @Test("a measured layer without overrides is exported with its figures and no overrides")
    func measuredAtDefaults() throws {
        let s = try ExplorerFixtures.layerState(width: 120, height: 40)
        let p = Reducer.payload(s)
        #expect(p.defaults == SpQRConfig() && p.configs == [qProj: SpQRConfig()] && p.reports.count == 1)
    }

    @Test("a restored recipe sets the defaults and keeps only overrides that differ from them")
    func recipeRestoresOverrides() throws {
        var s = ExplorerFixtures.state(width: 120, height: 40)
        var defaults = SpQRConfig()
        defaults.wbits = 4
        let recipe = Recipe(
            created: "t", model: .init(path: "m", files: []),
            calibration: .init(kind: .none, file: nil, sha256: nil, nSequences: nil, label: "none"),
            defaults: defaults,
            layers: [
                qProj: .init(overrides: ["groupsize": .int(64)], shape: [48, 96], figures: nil),
                Self.kProj0: .init(overrides: ["wbits": .int(4)], shape: [16, 96], figures: nil),
            ])
        _ = Reducer.reduce(&s, .recipeLoaded(recipe))
        #expect(s.defaults == defaults && s.overrides == [qProj: ["groupsize": .integer(64)]])
    }

    @Test(
        "a layer's type is its name within its block, without .weight",
        arguments: [
            ("model.layers.0.self_attn.q_proj.weight", "self_attn.q_proj"),
            ("model.layers.3.mlp.down_proj.weight", "mlp.down_proj"), ("blk.15.attn_q.weight", "attn_q"),
            ("blk.0.ffn_down.weight", "ffn_down"), ("lm_head.weight", "lm_head"),
            ("encoder.layer.3.attention.output.dense.weight", "attention.output.dense"),
        ])
    func layerType(name: String, type: String) {
        #expect(AppState.layerType(name) == type)
    }
}
