// The reducer's settings: the sliders and the advanced panel, each change re-running the layer.

import Testing

@testable import SpQRCore
@testable import SpQRExplorer

@Suite("Reducer: settings")
struct ReducerSettingsTests {
    @Test("W raises wbits and asks for a run with a new generation")
    func wbitsRerun() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        let g0 = s.generation
        let e = key(&s, .char("W"))
        #expect(s.settings.wbits == 4 && s.generation == g0 + 1)
        #expect(e == [.quantize(generation: g0 + 1, layer: qProj, config: s.settings)])
    }

    @Test("wbits stays within 2–8, and no change asks for no run")
    func wbitsBounds() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        for _ in 0..<10 { key(&s, .char("W")) }
        #expect(s.settings.wbits == 8)
        for _ in 0..<10 { key(&s, .char("w")) }
        #expect(s.settings.wbits == 2)
        #expect(key(&s, .char("w")).isEmpty, "no change, no run")
    }

    @Test("G and g step the groupsize up to none and back")
    func groupsize() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        key(&s, .char("G"))
        #expect(s.settings.groupsize == 32)
        for _ in 0..<6 { key(&s, .char("G")) }
        #expect(s.settings.groupsize == nil)
        key(&s, .char("g"))
        #expect(s.settings.groupsize == 256)
    }

    @Test("T and t step the outlier threshold on its log steps")
    func threshold() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        key(&s, .char("T"))
        #expect(s.settings.outlierThreshold == 0.3)
        key(&s, .char("t"))
        key(&s, .char("t"))
        #expect(s.settings.outlierThreshold == 0.15)
    }

    @Test("x turns outliers off and back on at 0.2")
    func outliersOff() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        key(&s, .char("x"))
        #expect(s.settings.outlierThreshold == .infinity)
        key(&s, .char("x"))
        #expect(s.settings.outlierThreshold == 0.2)
    }

    @Test("x x restores the threshold outliers were turned off at")
    func outliersOffRestores() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        key(&s, .char("T"))
        key(&s, .char("T"))
        #expect(s.settings.outlierThreshold == 0.5)
        key(&s, .char("x"))
        #expect(s.settings.outlierThreshold == .infinity)
        key(&s, .char("x"))
        #expect(s.settings.outlierThreshold == 0.5)
    }

    @Test("T from off goes to the first threshold and cycles; t from off to the highest")
    func thresholdCycle() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        key(&s, .char("x"))
        key(&s, .char("T"))
        #expect(s.settings.outlierThreshold == Setting.outlierThreshold.steps.first?.numeric)
        for _ in 1..<Setting.outlierThreshold.steps.count { key(&s, .char("T")) }
        #expect(s.settings.outlierThreshold == .infinity, "the last step is off")
        key(&s, .char("t"))
        #expect(s.settings.outlierThreshold == 5)
    }

    @Test("a opens the advanced panel; ] and [ move its focus round")
    func advancedFocus() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        key(&s, .char("a"))
        #expect(s.showAdvanced)
        key(&s, .char("]"))
        #expect(s.advancedFocus == 1)
        key(&s, .char("["))
        key(&s, .char("["))
        #expect(s.advancedFocus == SettingControls.advancedCount - 1)
    }

    @Test("> and < step the focused advanced setting within its values")
    func advancedValues() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        s.advancedFocus = 3
        key(&s, .char(">"))
        #expect(s.settings.permutationOrder == .spearman)
        key(&s, .char("<"))
        key(&s, .char("<"))
        #expect(s.settings.permutationOrder == .identity)
    }

    @Test("every advanced value steps in and reads back as itself")
    func advancedRoundTrip() {
        for (i, setting) in Setting.advanced.enumerated() {
            var c = SpQRConfig()
            // Step down to the first value, then up through every value.
            for _ in setting.steps { SettingControls.adjust(&c, .advancedDecrease, advancedFocus: i) }
            for value in setting.steps {
                #expect(SettingControls.advancedValues(c)[i].value == setting.label(of: value), "\(setting.name)")
                SettingControls.adjust(&c, .advancedIncrease, advancedFocus: i)
            }
        }
    }
}
