// The setting descriptions: text and JSON forms, ranges and messages, the explorer's steps, and the
// settings part of docs/recipe.schema.json.

import Foundation
import Testing

@testable import SpQRCore

@Suite("Settings")
struct SettingsTests {
    @Test("every setting of SpQRConfig is described once, under the reference's flag name")
    func coverage() {
        let names = Setting.all.map(\.name)
        #expect(Set(names).count == names.count)
        #expect(names == Recipe.settingKeys)
        // Changing each setting to a value of its own changes exactly that setting and nothing else.
        for s in Setting.all {
            var c = SpQRConfig()
            let other = (s.steps + [.integer(7), .number(0.7)]).first {
                $0 != s.value(in: c) && (try? s.set($0, in: &c)) != nil
            }
            #expect(other != nil, "\(s.name) has no second value")
            for t in Setting.all where t.name != s.name {
                #expect(t.value(in: c) == t.value(in: SpQRConfig()), "\(s.name) moved \(t.name)")
            }
            #expect(s.value(in: c) == other, "\(s.name)")
        }
    }

    @Test("text spellings of unset, off and choices")
    func text() throws {
        #expect(try Setting.groupsize.parse("24") == .integer(24))
        for word in ["none", "None", "null", "off"] { #expect(try Setting.groupsize.parse(word) == SettingValue.none) }
        for word in ["inf", "off", "none", "OFF", "Inf"] {
            #expect(try Setting.outlierThreshold.parse(word) == .number(.infinity))
        }
        #expect(try Setting.outlierThreshold.parse("0.2") == .number(0.2))
        #expect(try Setting.qqScaleBits.parse("none") == SettingValue.none)
        #expect(try Setting.roundZero.parse("1") == .boolean(true))
        #expect(try Setting.roundZero.parse("none") == .boolean(false))
        #expect(try Setting.permutationOrder.parse("act-order") == .choice("act_order"))
        #expect(throws: SpQRError(.invalidSetting, "--wbits takes a whole number, got 'none'")) {
            try Setting.wbits.parse("none")
        }
        #expect(throws: SpQRError(.invalidSetting, "--percdamp takes a number, got 'off'")) {
            try Setting.percdamp.parse("off")
        }
        #expect(throws: SpQRError(.invalidSetting, "--round_zero takes 1 or 0, got '2'")) {
            try Setting.roundZero.parse("2")
        }
        // The text form reads back as the same value.
        for s in Setting.all {
            for v in s.steps { #expect(try s.parse(s.text(of: v)) == v, "\(s.name) \(v)") }
        }
    }

    @Test(
        "JSON forms: any positive groupsize, inf/off/none thresholds written as \"inf\", round_zero as the reference writes it"
    )
    func json() throws {
        #expect(try Setting.groupsize.decode(json: .int(24)) == .integer(24))
        #expect(try Setting.groupsize.decode(json: .null) == SettingValue.none)
        for word in ["inf", "off", "none"] {
            #expect(try Setting.outlierThreshold.decode(json: .string(word)) == .number(.infinity))
        }
        #expect(Setting.outlierThreshold.json(.number(.infinity)) == .string("inf"))
        #expect(try Setting.outlierThreshold.decode(json: .int(0)) == .number(0))
        #expect(try Setting.roundZero.decode(json: .int(1)) == .boolean(true))
        #expect(try Setting.roundZero.decode(json: .null) == .boolean(false))
        func message(_ s: Setting, _ v: RecipeValue) -> String? {
            do {
                _ = try s.decode(json: v)
                return nil
            } catch let e as SpQRError { return e.message } catch { return "\(error)" }
        }
        #expect(message(.groupsize, .int(0)) == "expected null (one group per row) or a positive integer, got 0")
        #expect(
            message(.qqZeroBits, .int(17)) == "expected null (16-bit zero points) or an integer from 1 to 16, got 17")
        #expect(message(.outlierThreshold, .string("Off")) == "expected a number or \"inf\", got the string \"Off\"")
        #expect(message(.outlierThreshold, .null) == "expected a number or \"inf\", got null")
        #expect(message(.percdamp, .string("inf")) == "expected a number, got the string \"inf\"")
        #expect(message(.roundZero, .int(2)) == "expected true, false, 0, 1 or null, got the number 2")
        #expect(message(.perchannel, .int(1)) == "expected true or false, got the number 1")
        // Every step survives the JSON form.
        for s in Setting.all {
            for v in s.steps { #expect(try s.decode(json: s.json(v)) == v, "\(s.name) \(v)") }
        }
    }

    @Test("validate() names the flag and its range")
    func validation() {
        func message(_ change: (inout SpQRConfig) -> Void) -> String? {
            var c = SpQRConfig()
            change(&c)
            do {
                try c.validate()
                return nil
            } catch let e as SpQRError { return e.message } catch { return "\(error)" }
        }
        #expect(message { $0.groupsize = 24 } == nil)
        #expect(
            message { $0.groupsize = 0 }
                == "groupsize must be a positive number of columns (or none for one group per row), got 0")
        #expect(message { $0.wbits = 9 } == "wbits must be between 1 and 8, got 9")
        #expect(
            message { $0.qqScaleBits = 0 }
                == "qq_scale_bits must be between 1 and 16 (or none for 16-bit scales), got 0")
        #expect(message { $0.qqGroupsize = 0 } == "qq_groupsize must be a positive number of rows, got 0")
        #expect(
            message { $0.outlierThreshold = .nan }
                == "outlier_threshold must be a non-negative number or inf (no outliers), got nan")
        #expect(
            message { $0.outlierThreshold = -.infinity }
                == "outlier_threshold must be a non-negative number or inf (no outliers), got -inf")
        #expect(message { $0.percdamp = .infinity } == "percdamp must be a non-negative number, got inf")
        #expect(message { $0.blocksize = 0 } == "blocksize must be a positive number of columns, got 0")
    }

    @Test("steps: on the list, off the list, at the ends, and leaving off")
    func steps() {
        func walk(_ s: Setting, _ from: SettingValue, _ deltas: [Int]) -> [SettingValue] {
            var v = from
            return deltas.map {
                v = s.step(v, by: $0)
                return v
            }
        }
        #expect(walk(.wbits, .integer(3), [1, 1, 1, 1, 1, 1]).map(\.description) == ["4", "5", "6", "7", "8", "8"])
        #expect(Setting.wbits.step(.integer(2), by: -1) == .integer(2))
        #expect(Setting.wbits.step(.integer(1), by: -1) == .integer(2), "below the steps: the lowest step")
        #expect(
            walk(.groupsize, .integer(16), [1, 1, 1, 1, 1, 1, -1]).map(\.description) == [
                "32", "64", "128", "256", "none", "none", "256",
            ])
        #expect(Setting.groupsize.step(.integer(24), by: 1) == .integer(32))
        #expect(Setting.groupsize.step(.integer(24), by: -1) == .integer(16))
        #expect(Setting.groupsize.step(.integer(1000), by: 1) == .integer(256))
        #expect(Setting.groupsize.step(.integer(2), by: -1) == .integer(4))
        #expect(walk(.outlierThreshold, .number(0.2), [1, -1, -1]).map(\.description) == ["0.3", "0.2", "0.15"])
        #expect(Setting.outlierThreshold.step(.number(5), by: 1) == .number(.infinity))
        #expect(
            walk(.outlierThreshold, .number(2), [1, 1, 1, 1]).map(\.description) == ["5.0", "inf", "0.01", "0.02"],
            "up from off is the first threshold, and the steps cycle")
        var c = SpQRConfig()
        c.outlierThreshold = 0.5
        Setting.outlierThreshold.toggleOff(&c, restoring: .number(0.5))
        #expect(c.outlierThreshold == .infinity)
        Setting.outlierThreshold.toggleOff(&c, restoring: .number(0.5))
        #expect(c.outlierThreshold == 0.5, "back on at the threshold it had")
        Setting.outlierThreshold.toggleOff(&c)
        Setting.outlierThreshold.toggleOff(&c)
        #expect(c.outlierThreshold == 0.2, "with nothing to restore, the default")
        #expect(Setting.outlierThreshold.step(.number(.infinity), by: -1) == .number(5))
        #expect(Setting.outlierThreshold.step(.number(0.25), by: 1) == .number(0.3))
        #expect(Setting.outlierThreshold.step(.number(0.25), by: -1) == .number(0.2))
        #expect(
            Setting.outlierThreshold.step(.number(0.2 * (1 + 1e-12)), by: 1) == .number(0.3),
            "within 1e-9 is on the list")
        #expect(Setting.outlierThreshold.step(.number(0.005), by: -1) == .number(0.01))
        #expect(Setting.outlierThreshold.step(.number(10), by: 1) == .number(.infinity))
        #expect(walk(.qqScaleBits, .integer(3), [-1, -1, -1, 1]).map(\.description) == ["2", "none", "none", "2"])
        #expect(Setting.qqScaleBits.step(.integer(6), by: 1) == .integer(8))
        #expect(
            walk(.permutationOrder, .choice("act_order"), [1, 1, -1, -1, -1]).map(\.description)
                == ["spearman", "spearman", "act_order", "identity", "identity"])
        #expect(walk(.percdamp, .number(1), [-1, -1, -1, 1]).map(\.description) == ["0.1", "0.01", "0.01", "0.1"])
        #expect(Setting.percdamp.step(.number(0.5), by: 1) == .number(1))
        #expect(
            walk(.simplifiedOutliers, .boolean(false), [1, 1, -1]).map(\.description) == ["true", "true", "false"])
        #expect(Setting.blocksize.step(.integer(128), by: 1) == .integer(128), "no steps: unchanged")
        #expect(
            Setting.advanced.map(\.name) == [
                "qq_scale_bits", "qq_zero_bits", "qq_groupsize", "permutation_order", "percdamp", "simplified_outliers",
            ])
    }

    @Test("stepping and toggling a configuration")
    func configSteps() {
        var c = SpQRConfig()
        Setting.groupsize.step(&c, by: 1)
        #expect(c.groupsize == 32)
        Setting.outlierThreshold.toggleOff(&c)
        #expect(c.outlierThreshold == .infinity && !c.outliersEnabled)
        Setting.outlierThreshold.toggleOff(&c)
        #expect(c.outlierThreshold == 0.2, "back to the default")
        Setting.wbits.toggleOff(&c)
        #expect(c.wbits == 3, "no off value: unchanged")
        #expect(Setting.wbits.offValue == nil && Setting.outlierThreshold.offValue == .number(.infinity))
    }

    @Test("positions along the steps and labels")
    func positions() throws {
        #expect(Setting.wbits.position(of: .integer(2)) == 0 && Setting.wbits.position(of: .integer(8)) == 1)
        #expect(Setting.wbits.position(of: .integer(5)) == 0.5)
        #expect(Setting.groupsize.position(of: SettingValue.none) == 1)
        // 24 sits halfway between 16 (index 2) and 32 (index 3) of 8 steps.
        #expect(abs(try #require(Setting.groupsize.position(of: .integer(24))) - 2.5 / 7) < 1e-12)
        #expect(Setting.outlierThreshold.position(of: .number(.infinity)) == 1)
        #expect(Setting.outlierThreshold.position(of: .number(0.001)) == 0)
        #expect(Setting.blocksize.position(of: .integer(128)) == nil)
        #expect(Setting.outlierThreshold.label(of: .number(.infinity)) == "off")
        #expect(Setting.outlierThreshold.label(of: .number(0.15)) == "0.15")
        #expect(Setting.percdamp.label(of: .number(1)) == "1")
        #expect(Setting.percdamp.label(of: .number(1e-4)) == "1.00e-04")
        #expect(Setting.groupsize.label(of: SettingValue.none) == "none")
        #expect(Setting.permutationOrder.label(of: .choice("act_order")) == "act_order")
    }

    @Test("the reference flags of each kind of setting")
    func referenceArguments() {
        #expect(Setting.groupsize.referenceArguments(.integer(24)) == ["--groupsize", "24"])
        #expect(Setting.groupsize.referenceArguments(SettingValue.none).isEmpty)
        #expect(Setting.outlierThreshold.referenceArguments(.number(0.2)) == ["--outlier_threshold=0.2"])
        #expect(Setting.outlierThreshold.referenceArguments(.number(.infinity)).isEmpty)
        #expect(Setting.roundZero.referenceArguments(.boolean(true)) == ["--round_zero", "1"])
        #expect(Setting.roundZero.referenceArguments(.boolean(false)).isEmpty)
        #expect(Setting.perchannel.referenceArguments(.boolean(true)) == ["--perchannel"])
        #expect(Setting.percdamp.referenceArguments(.number(1)) == ["--percdamp", "1.0"])
        #expect(Setting.blocksize.referenceArguments(.integer(64)).isEmpty)
    }

    @Test("a recipe takes groupsize 24 and threshold \"off\", and writes the threshold as \"inf\"")
    func recipeForms() throws {
        var root = try #require(
            try JSONSerialization.jsonObject(with: try RecipeTests.sample().encoded()) as? [String: Any])
        var defaults = try #require(root["defaults"] as? [String: Any])
        defaults["groupsize"] = 24
        defaults["outlier_threshold"] = "off"
        root["defaults"] = defaults
        var layers = try #require(root["layers"] as? [String: Any])
        var k = try #require(layers["model.layers.0.self_attn.k_proj.weight"] as? [String: Any])
        k["overrides"] = ["outlier_threshold": "none", "groupsize": NSNull()]
        layers["model.layers.0.self_attn.k_proj.weight"] = k
        root["layers"] = layers
        let recipe = try Recipe.decode(try JSONSerialization.data(withJSONObject: root))
        #expect(recipe.defaults.groupsize == 24 && recipe.defaults.outlierThreshold == .infinity)
        #expect(
            recipe.layers["model.layers.0.self_attn.k_proj.weight"]?.overrides == [
                "outlier_threshold": .string("inf"), "groupsize": .null,
            ])
        let written = String(decoding: try recipe.encoded(), as: UTF8.self)
        #expect(!written.contains("\"off\"") && !written.contains("\"none\""))
        #expect(try Recipe.decode(Data(written.utf8)) == recipe)
        #expect(ReferenceCommand.make(recipe).command.contains("--groupsize 24 --perchannel"))
        #expect(!ReferenceCommand.make(recipe).command.contains("outlier_threshold"))
    }

    @Test("blocksize other than 128 is what main.py cannot express")
    func blocksizeUnsupported() throws {
        var r = try RecipeTests.sample()
        r.layers = [:]
        r.defaults.blocksize = 64
        #expect(
            ReferenceCommand.make(r).unsupported
                == ["blocksize 64: main.py always uses 128 (with groupsize dividing both, the result is the same)"])
    }

    @Test(
        "docs/recipe.schema.json's settings are the generated ones, entry by entry (SPQR_RECORD_SCHEMA=1 rewrites them)"
    )
    func jsonSchema() throws {
        let url = RecipeDocumentationTests.docs.appendingPathComponent("recipe.schema.json")
        let text = try String(contentsOf: url, encoding: .utf8)
        let generated = try Setting.settingsJSONSchemaText(indent: "    ")
        let start = try #require(text.range(of: "    \"settings\": "))
        let end = try #require(text.range(of: ",\n    \"baseline\": "))
        if ProcessInfo.processInfo.environment["SPQR_RECORD_SCHEMA"] == "1" {
            try (text[..<start.upperBound] + generated + text[end.lowerBound...]).write(
                to: url, atomically: true, encoding: .utf8)
        } else {
            #expect(String(text[start.upperBound..<end.lowerBound]) == generated)
        }
        let schema = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        let settings = try #require((schema["$defs"] as? [String: Any])?["settings"] as? [String: Any])
        let properties = try #require(settings["properties"] as? [String: Any])
        #expect(Set(properties.keys) == Set(Recipe.settingKeys))
        for s in Setting.all {
            let normalised = try JSONSerialization.jsonObject(
                with: JSONSerialization.data(withJSONObject: s.jsonSchema))
            #expect((properties[s.name] as? NSDictionary)?.isEqual(normalised) == true, "\(s.name)")
        }
        let defaults = try #require((schema["properties"] as? [String: Any])?["defaults"] as? [String: Any])
        #expect(defaults["required"] as? [String] == Recipe.settingKeys)
    }
}
