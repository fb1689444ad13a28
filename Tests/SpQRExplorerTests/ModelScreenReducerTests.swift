// The model screen's reducer on constructed fronts (ModelScreenFixtures): opening it asks once for the
// measurement, the measured fronts give a first target and an allocation within it, the budget keys
// re-solve, A turns the allocation into the session's defaults and overrides (what e exports), Enter
// opens the layer under the cursor and Esc in the layer view comes back.

import Testing

@testable import SpQRCore
@testable import SpQRExplorer

@Suite("Reducer: model screen")
struct ModelScreenReducerTests {
    func key(_ s: inout AppState, _ c: Character) -> [Effect] { Reducer.reduce(&s, .terminal(.key(.char(c)))) }

    @Test("M opens the screen and asks once for the measurement over the menu around the session defaults")
    func opens() {
        var s = ExplorerFixtures.state(width: 80, height: 24)
        let effects = key(&s, "M")
        #expect(s.screen == .model)
        #expect(effects == [.measureFronts(id: 1, menu: ModelScreenState.menu, base: s.defaults)])
        #expect(s.modelScreen.measuring?.layers == 6)
        // Open again while it measures: no second measurement.
        _ = Reducer.reduce(&s, .terminal(.key(.escape)))
        #expect(s.screen == .browser && s.modelScreen.measuring != nil)
        #expect(key(&s, "M") == [])
        #expect(s.screen == .model)
    }

    @Test("progress, the measured fronts and a stop; events of an older measurement are dropped")
    func measurementEvents() throws {
        var s = ExplorerFixtures.state(width: 80, height: 24)
        _ = key(&s, "M")
        let status = FrontsStatus(
            layer: "model.layers.0.mlp.down_proj.weight", layersDone: 2, layers: 6, cachedLayers: 1, fraction: 0.4)
        _ = Reducer.reduce(&s, .model(.progress(id: 1, status)))
        #expect(s.modelScreen.measuring == status)
        #expect(key(&s, "x") == [.stopFronts])
        #expect(s.modelScreen.measuring == nil)
        // M again starts a new measurement; the stopped one's late result is ignored.
        _ = Reducer.reduce(&s, .terminal(.key(.escape)))
        #expect(key(&s, "M") == [.measureFronts(id: 2, menu: ModelScreenState.menu, base: s.defaults)])
        let f = try ModelScreenFixtures.fronts(s)
        _ = Reducer.reduce(&s, .model(.measured(id: 1, f)))
        let ignored = s.modelScreen.fronts == nil
        #expect(ignored)
        _ = Reducer.reduce(&s, .model(.measured(id: 2, f)))
        let taken = s.modelScreen.fronts == f && s.modelScreen.measuring == nil
        #expect(taken)
        // Measured for these defaults: opening again measures nothing.
        _ = Reducer.reduce(&s, .terminal(.key(.escape)))
        #expect(key(&s, "M") == [])
    }

    @Test("the first target is the session defaults' average bits to 0.1 below, and the allocation meets it")
    func firstTarget() throws {
        let s = try ModelScreenFixtures.measuredState(width: 80, height: 24)
        let f = try #require(s.modelScreen.fronts)
        let k = try #require(f.configs.firstIndex(of: s.defaults))
        // wbits 3, groupsize 16, qq 3/3/16 and 1% outliers: 3 + 6/16 + 64/256 + 0.32 = 3.945 bits.
        #expect(abs(f.uniform(k).avgBits - 3.945) < 1e-12)
        #expect(s.modelScreen.budget == 3.9)
        let a = try #require(s.modelScreen.allocation)
        #expect(a.avgBits <= 3.9)
        #expect(a.avgBits > 3.5)
        // Below the uniform setting's bits and yet no worse than it: the allocation moves bits to the
        // layers with the largest errors.
        #expect(a.error < f.uniform(k).error)
    }

    @Test("] and [ move the target by 0.1, { and } by 0.5, within the menu's reach; the allocation follows")
    func budgetSlider() throws {
        var s = try ModelScreenFixtures.measuredState(width: 80, height: 24)
        let before = try #require(s.modelScreen.allocation)
        _ = key(&s, "]")
        #expect(abs(s.modelScreen.budget! - 4.0) < 1e-12)
        let after = try #require(s.modelScreen.allocation)
        #expect(after.avgBits <= 4.0 && after.error <= before.error)
        _ = key(&s, "[")
        _ = key(&s, "[")
        #expect(abs(s.modelScreen.budget! - 3.8) < 1e-12)
        #expect(s.modelScreen.allocation!.avgBits <= 3.8)
        #expect(s.modelScreen.allocation!.error >= after.error)
        let reach = ModelScreenState.reach(s.modelScreen.fronts!)
        for _ in 0..<40 { _ = key(&s, "{") }
        // The least step of 0.1 above every layer at its cheapest setting (wbits 2, groupsize 128, no outliers).
        #expect(abs(reach.lowest - (2 + 6.0 / 128 + 64.0 / (128 * 16))) < 1e-12)
        #expect(abs(s.modelScreen.budget! - 2.1) < 1e-12)
        #expect(s.modelScreen.allocation != nil)
        for _ in 0..<40 { _ = key(&s, "}") }
        #expect(abs(s.modelScreen.budget! - (reach.highest * 10).rounded(.up) / 10) < 1e-12)
        #expect(
            s.modelScreen.allocation!.error
                == s.modelScreen.fronts!.layers.map { $0.points.map(\.error).min()! }
                .reduce(0, +))
    }

    @Test(
        "A, once confirmed, makes the allocation the session's settings: its common setting the defaults, the rest overrides"
    )
    func apply() throws {
        var s = try ModelScreenFixtures.measuredState(width: 80, height: 24)
        s.overrides["model.layers.0.self_attn.q_proj.weight"] = ["groupsize": .integer(64)]
        let a = try #require(s.modelScreen.allocation)
        let before = (s.defaults, s.overrides)
        // More than one layer changes: A asks first, and any key but y leaves everything as it was.
        _ = key(&s, "A")
        let changed = a.choices.filter { c in c.config != ExplorerFixtures.state(width: 80, height: 24).defaults }
        guard case .confirmAllocation(let n)? = s.prompt?.kind else {
            Issue.record("no confirmation asked: \(String(describing: s.prompt))")
            return
        }
        #expect(n == changed.count && n > 1)
        _ = key(&s, "n")
        #expect(s.prompt == nil && s.defaults == before.0 && s.overrides == before.1)
        _ = key(&s, "A")
        _ = key(&s, "y")
        #expect(s.defaults == a.commonConfig)
        for c in a.choices { #expect(s.config(for: c.layer) == c.config, "\(c.layer)") }
        #expect(s.overrides.count == a.choices.filter { $0.config != a.commonConfig }.count)
        #expect(s.overrides.count > 0 && s.overrides.count < a.choices.count)
        #expect(s.message?.hasPrefix("allocation applied") == true)
        // The export carries the defaults and every overridden layer's settings.
        let p = Reducer.payload(s)
        #expect(p.defaults == a.commonConfig)
        #expect(Set(p.configs.keys) == Set(s.overrides.keys))
        for (name, c) in p.configs { #expect(c == a.choices.first { $0.layer == name }!.config) }
        // The recipe it writes gives every layer its allocated setting (what quantize-model --recipe applies).
        let recipe = Recipe.make(
            model: .init(path: "tiny.safetensors", files: []),
            calibration: .init(kind: .none, file: nil, tensor: nil, sha256: nil, nSequences: nil, label: "none"),
            defaults: p.defaults, configs: p.configs, shapes: p.shapes, reports: p.reports)
        for c in a.choices { #expect(try recipe.config(for: c.layer) == c.config, "\(c.layer)") }
    }

    @Test("nothing to apply or budget before the measurement")
    func beforeMeasurement() {
        var s = ExplorerFixtures.state(width: 80, height: 24)
        _ = key(&s, "M")
        let defaults = s.defaults
        _ = key(&s, "A")
        #expect(s.messageIsError && s.defaults == defaults)
        _ = key(&s, "]")
        #expect(s.modelScreen.budget == nil)
    }

    @Test("the cursor moves over blocks and layer types; Enter opens the layer and Esc comes back")
    func cursorAndOpen() throws {
        var s = try ModelScreenFixtures.measuredState(width: 80, height: 24)
        let grid = ModelGrid(s.rows)
        #expect(grid.blocks == [0, 1])
        #expect(grid.types == ["self_attn.q_proj", "self_attn.k_proj", "mlp.down_proj"])
        _ = Reducer.reduce(&s, .terminal(.key(.down)))
        _ = Reducer.reduce(&s, .terminal(.key(.down)))
        _ = Reducer.reduce(&s, .terminal(.key(.right)))
        _ = key(&s, "l")
        _ = key(&s, "l")
        #expect(s.modelScreen.row == 1 && s.modelScreen.column == 2)
        let effects = Reducer.reduce(&s, .terminal(.key(.enter)))
        #expect(s.screen == .layer && s.layer?.name == "model.layers.1.mlp.down_proj.weight")
        #expect(effects.contains { if case .quantize = $0 { return true } else { return false } })
        _ = Reducer.reduce(&s, .terminal(.key(.escape)))
        #expect(s.screen == .model)
        // M in the layer view goes to the model screen and stops the layer's run.
        _ = Reducer.reduce(&s, .terminal(.key(.enter)))
        #expect(key(&s, "M") == [.cancel])
        #expect(s.screen == .model)
    }

    @Test("a click puts the cursor on the cell under it, the wheel moves over the blocks")
    func mouse() throws {
        var s = try ModelScreenFixtures.measuredState(width: 80, height: 24)
        let frame = lines(Renderer.render(s))
        // The row of block 1 and the column of down_proj as drawn.
        let y = try #require(frame.firstIndex { $0.hasPrefix(" 1   ") })
        let x = try #require(frame[1].range(of: "down")).lowerBound.utf16Offset(in: frame[1])
        _ = Reducer.reduce(&s, .terminal(.mouse(.click(x: x + 2, y: y))))
        #expect(s.modelScreen.row == 1 && s.modelScreen.column == 2)
        _ = Reducer.reduce(&s, .terminal(.mouse(.wheelUp(x: 0, y: 0))))
        #expect(s.modelScreen.row == 0 && s.modelScreen.column == 2)
    }

    @Test("c cycles the figure")
    func figure() throws {
        var s = try ModelScreenFixtures.measuredState(width: 80, height: 24)
        var seen: [ModelFigure] = [s.modelScreen.figure]
        for _ in 0..<4 {
            _ = key(&s, "c")
            seen.append(s.modelScreen.figure)
        }
        #expect(seen == [.avgBits, .proxyError, .outliers, .sensitivity, .avgBits])
    }
}
