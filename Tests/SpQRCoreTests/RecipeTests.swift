// Recipes: round trip, validation messages, the reference command, totals; Pareto fronts; statistics.

import Foundation
import Testing

@testable import SpQRCore

@Suite("Recipe")
struct RecipeTests {
    static func sample() throws -> Recipe {
        let l = syntheticLayer(out: 32, in: 64, seed: 9)
        let p = try PreparedLayer(name: "blk.q", weights: l.w, hessian: l.h, config: SpQRConfig())
        var four = SpQRConfig.readme3bit
        four.wbits = 4
        let r3 = try SpQR.run(p, config: SpQRConfig())
        let r4 = try SpQR.run(p, config: four)
        let reports = [
            "model.layers.0.self_attn.q_proj.weight": LayerReport(
                layer: "model.layers.0.self_attn.q_proj.weight", result: r3, baselines: nil),
            "model.layers.0.self_attn.k_proj.weight": LayerReport(
                layer: "model.layers.0.self_attn.k_proj.weight", result: r4, baselines: nil),
        ]
        return Recipe.make(
            model: .init(
                path: "model",
                files: [.init(name: "model.safetensors", size: 10, sha256: String(repeating: "a", count: 64))]),
            calibration: .init(
                kind: .hessian, file: "h.safetensors", sha256: nil, nSequences: 128, label: "Hessian file h.safetensors"
            ),
            defaults: .readme3bit,
            configs: [
                "model.layers.0.self_attn.q_proj.weight": .readme3bit, "model.layers.0.self_attn.k_proj.weight": four,
            ],
            shapes: [:], reports: reports, created: Date(timeIntervalSince1970: 1_790_000_000))
    }

    @Test("write, read, equal")
    func roundTrip() throws {
        let r = try Self.sample()
        let back = try Recipe.decode(try r.encoded())
        #expect(back == r)
        #expect(back.layers["model.layers.0.self_attn.k_proj.weight"]?.overrides == ["wbits": .int(4)])
        #expect(back.layers["model.layers.0.self_attn.q_proj.weight"]?.overrides == [:])
        #expect(try back.config(for: "model.layers.0.self_attn.k_proj.weight").wbits == 4)
    }

    @Test("totals add the layers' storage and weight average bits by parameters")
    func totals() throws {
        let r = try Self.sample()
        let t = r.totals
        let figures = r.layers.values.compactMap(\.figures)
        #expect(t.parameters == 2 * 32 * 64)
        #expect(t.storageBits == figures.reduce(0) { $0 + $1.storageBits })
        #expect(abs(t.avgBits - figures.reduce(0) { $0 + $1.avgBits } / 2) < 1e-12)
        #expect(t.bytes == (t.storageBits + 7) / 8)
    }

    @Test("the reference command of the README 4-bit recipe is the README's flag set")
    func referenceCommand() throws {
        var r = try Self.sample()
        r.defaults = .readme4bit
        r.layers = [:]
        let (command, unsupported) = ReferenceCommand.make(r)
        let readme =
            "--wbits 4 --groupsize 16 --perchannel --qq_scale_bits 3 --qq_zero_bits 3 --qq_groupsize 16 --outlier_threshold=0.2 --permutation_order act_order --percdamp 1e0 --nsamples 128"
        #expect(Set(Self.parse(command)) == Set(Self.parse(readme)), "\(command)")
        #expect(command.hasPrefix("python main.py model $DATASET "))
        #expect(unsupported.isEmpty)
    }

    @Test("per-layer overrides are listed as what the reference cannot express")
    func unsupportedOverrides() throws {
        let (_, unsupported) = ReferenceCommand.make(try Self.sample())
        #expect(
            unsupported == [
                "layer model.layers.0.self_attn.k_proj.weight overrides wbits=4: main.py applies one setting to every layer"
            ])
    }

    @Test("a GGUF file or a single tensor file as the model: the reference cannot load it as given")
    func unsupportedModel() throws {
        var r = try Self.sample()
        r.layers = [:]
        let file = Recipe.ModelFile(name: "block3.safetensors", size: 10, sha256: String(repeating: "a", count: 64))
        r.model = .init(path: "samples/block3.safetensors", files: [file])
        #expect(
            ReferenceCommand.make(r).unsupported == [
                "model samples/block3.safetensors is a single tensor file: main.py loads a Hugging Face model "
                    + "directory (config.json and its weights) with from_pretrained, so it cannot load this model as "
                    + "given; point it at the Hugging Face model the file comes from"
            ])
        r.model = .init(path: "m.gguf", files: [.init(name: "m.gguf", size: 10, sha256: file.sha256)])
        #expect(ReferenceCommand.make(r).unsupported.first?.hasPrefix("model m.gguf is a GGUF file: ") == true)
        r.model = .init(path: "SmolLM2-135M", files: [.init(name: "model.safetensors", size: 10, sha256: file.sha256)])
        #expect(ReferenceCommand.make(r).unsupported.isEmpty, "a model directory")
        let json = try #require(try JSONSerialization.jsonObject(with: try Self.sample().encoded()) as? [String: Any])
        #expect((json["reference_unsupported"] as? [String])?.count == 1, "only the override")
    }

    /// Flag/value pairs with numbers normalised (1e0 == 1.0).
    static func parse(_ s: String) -> [String] {
        var out: [String] = []
        var tokens = s.split(separator: " ").map(String.init).drop { !$0.hasPrefix("--") }[...]
        while let t = tokens.popFirst() {
            if t.contains("=") {
                let kv = t.split(separator: "=", maxSplits: 1)
                out.append("\(kv[0])=\(Double(kv[1]).map { "\($0)" } ?? String(kv[1]))")
            } else if let next = tokens.first, !next.hasPrefix("--") {
                tokens.removeFirst()
                out.append("\(t)=\(Double(next).map { "\($0)" } ?? next)")
            } else {
                out.append(t)
            }
        }
        return out
    }

    static func mutate(_ body: (inout [String: Any]) -> Void) throws -> String {
        var root = try JSONSerialization.jsonObject(with: try Self.sample().encoded()) as! [String: Any]
        body(&root)
        let data = try JSONSerialization.data(withJSONObject: root)
        do {
            _ = try Recipe.decode(data)
            return "no error"
        } catch let e as SpQRError {
            return e.message
        }
    }

    static func setDefault(_ key: String, _ value: Any) -> (inout [String: Any]) -> Void {
        { root in
            var d = root["defaults"] as! [String: Any]
            d[key] = value
            root["defaults"] = d
        }
    }

    @Test("malformed recipes name the field and what was expected")
    func malformed() throws {
        #expect((try? Recipe.decode(Data("{not json".utf8))) == nil)
        do { _ = try Recipe.decode(Data("{not json".utf8)) } catch let e as SpQRError {
            #expect(e.message.hasPrefix("not valid JSON"))
        }
        #expect(
            try Self.mutate { $0["format_version"] = 2 }
                == "format_version: this tool reads version 1, the file is version 2; use a spqr-explorer that writes version 2"
        )
        #expect(
            try Self.mutate { $0["format"] = "other" } == "format: expected \"spqr-explorer-recipe\", got \"other\"")
        #expect(
            try Self.mutate(Self.setDefault("wbits", 0)) == "defaults.wbits: expected an integer from 1 to 8, got 0")
        #expect(
            try Self.mutate(Self.setDefault("wbits", "3"))
                == "defaults.wbits: expected an integer, got the string \"3\"")
        #expect(
            try Self.mutate(Self.setDefault("groupsize", 3)) == "no error",
            "the reference takes any positive group size")
        #expect(
            try Self.mutate(Self.setDefault("groupsize", 0))
                == "defaults.groupsize: expected null (one group per row) or a positive integer, got 0")
        #expect(
            try Self.mutate(Self.setDefault("groupsize", [16]))
                == "defaults.groupsize: expected null or an integer, got an array")
        #expect(
            try Self.mutate(Self.setDefault("outlier_threshold", -0.1))
                == "defaults.outlier_threshold: expected a non-negative number or \"inf\", got -0.1")
        #expect(
            try Self.mutate(Self.setDefault("permutation_order", "random"))
                == "defaults.permutation_order: expected identity, act_order or spearman, got \"random\"")
        #expect(try Self.mutate(Self.setDefault("colour", 1)).hasPrefix("defaults: unknown setting \"colour\""))
        #expect(
            try Self.mutate { root in
                var d = root["defaults"] as! [String: Any]
                d.removeValue(forKey: "percdamp")
                root["defaults"] = d
            } == "defaults: missing field \"percdamp\"")
        #expect(
            try Self.mutate { root in
                var layers = root["layers"] as! [String: Any]
                var l = layers["model.layers.0.self_attn.k_proj.weight"] as! [String: Any]
                l["overrides"] = ["wbits": 9]
                layers["model.layers.0.self_attn.k_proj.weight"] = l
                root["layers"] = layers
            }
                == "layers[\"model.layers.0.self_attn.k_proj.weight\"].overrides.wbits: expected an integer from 1 to 8, got 9"
        )
        #expect(
            try Self.mutate { root in
                var layers = root["layers"] as! [String: Any]
                var l = layers["model.layers.0.self_attn.k_proj.weight"] as! [String: Any]
                l["shape"] = [32]
                layers["model.layers.0.self_attn.k_proj.weight"] = l
                root["layers"] = layers
            }
                == "layers[\"model.layers.0.self_attn.k_proj.weight\"].shape: expected [out, in] with two positive integers, got [32]"
        )
    }

    @Test("an unknown layer is reported against the checkpoint")
    func unknownLayer() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recipe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.safetensors").path
        try SafetensorsWriter.write(
            [.f32("model.layers.0.self_attn.q_proj.weight", shape: [32, 64], [Float](repeating: 0.5, count: 2048))],
            to: path)
        let checkpoint = try SafetensorsCheckpoint(path: path)
        do {
            try Self.sample().checkLayers(against: checkpoint)
            Issue.record("no error for the unknown layer")
        } catch let e as SpQRError {
            #expect(e.message == "layers[\"model.layers.0.self_attn.k_proj.weight\"]: no such tensor in \(path)")
        }
    }

    @Test("writing never overwrites unless asked, and leaves no temporary file")
    func atomicWrite() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("recipe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("r.json").path
        let r = try Self.sample()
        try r.write(to: path, overwrite: false)
        #expect(throws: SpQRError.self) { try r.write(to: path, overwrite: false) }
        try r.write(to: path, overwrite: true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["r.json"])
        #expect(try Recipe.read(path: path) == r)
    }

    @Test("the Pareto front of a hand-checked grid")
    func pareto() {
        //            0     1     2     3     4     5
        let bits = [3.0, 3.0, 4.0, 4.0, 5.0, 4.5]
        let error = [0.10, 0.08, 0.05, 0.05, 0.01, 0.06]
        // 0 loses to 1 (same bits, more error); 3 ties 2 exactly (neither dominates); 5 loses to 2.
        #expect(Pareto.front(bits: bits, error: error) == [1, 2, 3, 4])
    }

    @Test("tensor statistics and block names")
    func statistics() {
        let s = TensorStatistics([1, -1, 1, -1])
        #expect(s.mean == 0 && s.std == 1 && s.maxAbs == 1 && s.kurtosis == 1)
        let t = TensorStatistics([0, 0, 0, 10])
        // mean 2.5; m2 = (3·6.25 + 56.25)/4 = 18.75; m4 = (3·39.0625 + 3164.0625)/4 = 820.3125; 820.3125/18.75² = 7/3
        #expect(abs(t.kurtosis - 7.0 / 3.0) < 1e-12)
        #expect(LayerNames.block(of: "model.layers.3.self_attn.q_proj.weight") == "model.layers.3")
        #expect(LayerNames.block(of: "blk.12.attn_q.weight") == "blk.12")
        #expect(LayerNames.block(of: "encoder.layer.0.attention.self.query.weight") == "encoder.layer.0")
        #expect(LayerNames.block(of: "lm_head.weight") == nil)
    }
}

@Suite("Recipe documentation")
struct RecipeDocumentationTests {
    static let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs")

    @Test("the example in docs/recipe.md is a valid recipe")
    func exampleParses() throws {
        let text = try String(contentsOf: Self.docs.appendingPathComponent("recipe.md"), encoding: .utf8)
        let start = try #require(text.range(of: "```json\n"))
        let end = try #require(text.range(of: "\n```", range: start.upperBound..<text.endIndex))
        let recipe = try Recipe.decode(Data(text[start.upperBound..<end.lowerBound].utf8))
        #expect(recipe.layers.count == 2)
        #expect(try recipe.config(for: "model.layers.0.self_attn.k_proj.weight").wbits == 4)
    }

    @Test("a recipe written with the one legacy concentration key reads it as each row's concentration")
    func legacyConcentrationKey() throws {
        let text = try String(contentsOf: Self.docs.appendingPathComponent("recipe.md"), encoding: .utf8)
        let start = try #require(text.range(of: "```json\n"))
        let end = try #require(text.range(of: "\n```", range: start.upperBound..<text.endIndex))
        let current = String(text[start.upperBound..<end.lowerBound])
        let legacy = current.replacingOccurrences(of: "\"sensitivity_concentration\"", with: "\"error_share_top1pct\"")
            .replacingOccurrences(of: "\"error_concentration\"", with: "\"error_share_top1pct\"")
        #expect(legacy != current)
        let a = try Recipe.decode(Data(current.utf8))
        let b = try Recipe.decode(Data(legacy.utf8))
        let fa = try #require(a.layers["model.layers.0.self_attn.q_proj.weight"]?.figures)
        let fb = try #require(b.layers["model.layers.0.self_attn.q_proj.weight"]?.figures)
        #expect(fb == fa)
        #expect(fb.sensitivityConcentration == 0.8762494715742447 && fb.gptq?.errorConcentration == 0.5577289085882331)
    }

    @Test("what the writer produces has every field the schema requires, with the schema's types")
    func writerMatchesSchema() throws {
        let schema = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: Self.docs.appendingPathComponent("recipe.schema.json"))) as? [String: Any])
        let written = try #require(
            try JSONSerialization.jsonObject(with: try RecipeTests.sample().encoded()) as? [String: Any])
        let defs = try #require(schema["$defs"] as? [String: Any])
        func check(_ value: Any, _ s: [String: Any], _ path: String) {
            if let ref = s["$ref"] as? String,
                let target = defs[String(ref.split(separator: "/").last!)] as? [String: Any]
            {
                check(value, target, path)
            }
            if let all = s["allOf"] as? [[String: Any]] { for sub in all { check(value, sub, path) } }
            if let t = s["type"] as? String { #expect(Self.matches(value, t), "\(path): \(value) is not \(t)") }
            if let ts = s["type"] as? [String] {
                #expect(ts.contains { Self.matches(value, $0) }, "\(path): \(value) is none of \(ts)")
            }
            guard let o = value as? [String: Any] else { return }
            for k in (s["required"] as? [String]) ?? [] { #expect(o[k] != nil, "\(path): missing \(k)") }
            let props = (s["properties"] as? [String: Any]) ?? [:]
            if (s["additionalProperties"] as? Bool) == false {
                for k in o.keys { #expect(props[k] != nil, "\(path): \(k) is not in the schema") }
            }
            for (k, sub) in props { if let v = o[k], let sub = sub as? [String: Any] { check(v, sub, "\(path).\(k)") } }
            if let extra = s["additionalProperties"] as? [String: Any] {
                for (k, v) in o where props[k] == nil { check(v, extra, "\(path)[\(k)]") }
            }
        }
        check(written, schema, "recipe")
    }

    static func matches(_ v: Any, _ type: String) -> Bool {
        let isBool = (v as? NSNumber).map { String(cString: $0.objCType) == "c" } ?? false
        switch type {
        case "object": return v is [String: Any]
        case "array": return v is [Any]
        case "string": return v is String
        case "null": return v is NSNull
        case "boolean": return isBool
        case "integer": return !isBool && JSONValue.integer(v) != nil
        case "number": return !isBool && v is NSNumber
        default: return false
        }
    }
}
