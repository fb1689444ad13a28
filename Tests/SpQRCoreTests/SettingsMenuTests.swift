// The settings menu: its combinations, the bit range of the standard menu, and its text form.

import Foundation
import Testing

@testable import SpQRCore

@Suite("Settings menu")
struct SettingsMenuTests {
    @Test("the standard menu crosses its axes around the base, first axis slowest, and spans 2.1–8.6 bits")
    func standard() throws {
        let menu = SettingsMenu.standard
        var base = SpQRConfig()
        base.percdamp = 0.5
        let configs = try menu.configs(around: base)
        #expect(configs.count == 48 && menu.count == 48)
        #expect(configs[0].wbits == 2 && configs[0].groupsize == 16 && configs[0].outlierThreshold == 0.2)
        #expect(configs[1].outlierThreshold == .infinity && configs[2].groupsize == 32)
        #expect(configs.last!.wbits == 8 && configs.last!.groupsize == 128)
        #expect(configs.allSatisfy { $0.percdamp == 0.5 })
        #expect(
            Set(configs.map { "\($0.wbits)/\(String(describing: $0.groupsize))/\($0.outlierThreshold)" }).count == 48)
        let bits = configs.map { BitCost.referenceAverageBits($0, outlierShare: 0) }
        #expect(bits.min()! == 2.078125, "lowest: wbits 2, groupsize 128")
        #expect(bits.max()! == 8.625, "highest: wbits 8, groupsize 16")
    }

    @Test("the text form round-trips and bad text is refused with the part that is wrong")
    func text() throws {
        #expect(
            SettingsMenu.standard.description == "wbits=2,3,4,5,6,8;groupsize=16,32,64,128;outlier_threshold=0.2,inf")
        #expect(
            try SettingsMenu.parse("outlier_threshold=off,0.5").axes[0].values == [.number(.infinity), .number(0.5)])
        #expect(try SettingsMenu.parse(SettingsMenu.standard.description) == .standard)
        let m = try SettingsMenu.parse(" wbits = 3,4 ; qq_scale_bits=none,3 ")
        #expect(m.count == 4 && m.axes.map(\.setting.name) == ["wbits", "qq_scale_bits"])
        let configs = try m.configs(around: SpQRConfig())
        #expect(configs.map(\.qqScaleBits) == [nil, 3, nil, 3])
        for (text, fragment) in [
            ("", "empty"), ("wbits", "name=v1"), ("bits=3", "unknown setting 'bits'"),
            ("wbits=3;wbits=4", "given twice"), ("wbits=3,", "comma-separated"), ("wbits=three", "wbits"),
        ] {
            #expect(throws: SpQRError.self) { try SettingsMenu.parse(text) }
            do { _ = try SettingsMenu.parse(text) } catch let e as SpQRError {
                #expect(e.message.contains(fragment), "\(text): \(e.message)")
            }
        }
        #expect(throws: SpQRError.self) { try SettingsMenu.parse("wbits=9").configs(around: SpQRConfig()) }
    }
}
