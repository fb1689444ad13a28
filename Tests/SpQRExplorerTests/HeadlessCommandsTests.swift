// layers, quantize --recipe/--maps/--write-recipe, sweep and recipe validate/apply/command, end to end.

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore

@Suite("Headless commands")
struct HeadlessCommandsTests {
    static var file: String { "\(BinaryRunner.vectors)/synthetic-a.safetensors" }
    static let calibration = ["--hessian", "\(BinaryRunner.vectors)/synthetic-a.safetensors", "--hessian-tensor", "H"]

    static func tempDir() throws -> URL {
        URL(fileURLWithPath: try scratchDirectory("spqr-cmd"))
    }

    @Test("layers lists shapes, dtypes, quantizability and statistics")
    func layers() throws {
        let r = try BinaryRunner.run(["layers", Self.file, "--stats", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        let w = try #require(rows.first { $0["name"] as? String == "W" })
        #expect(w["shape"] as? [Int] == [64, 128])
        #expect(w["dtype"] as? String == "F32" && w["quantizable"] as? Bool == true)
        let weights = try SafetensorsFile(path: Self.file).floats("W")
        let stats = try #require(w["statistics"] as? [String: Any])
        #expect(abs((stats["max_abs"] as? Double ?? 0) - Double(weights.map { abs($0) }.max()!)) < 1e-6)
        let mask = try #require(rows.first { $0["name"] as? String == "llama3.outliers" })
        #expect(mask["quantizable"] as? Bool == false)
        #expect((mask["reason"] as? String)?.contains("dtype U8") == true)
        let table = try BinaryRunner.run(["layers", Self.file])
        #expect(table.stdout.contains("W ") && table.stdout.contains("64x128"))
    }

    @Test("a recipe written by quantize validates, reproduces its figures with apply, and gives the reference command")
    func recipeLifecycle() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = dir.appendingPathComponent("r.json").path
        let q = try BinaryRunner.run(
            ["quantize", Self.file, "--layer", "W", "--wbits", "4", "--write-recipe", recipe] + Self.calibration)
        #expect(q.status == 0, "\(q.stderr)")
        let validate = try BinaryRunner.run(["recipe", "validate", recipe])
        #expect(
            validate.status == 0
                && validate.stdout.contains("valid spqr-explorer-recipe version 1, 1 layer(s), defaults wbits 4"))
        let apply = try BinaryRunner.run(["recipe", "apply", recipe, Self.file, "--json"])
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        let out = try #require(try JSONSerialization.jsonObject(with: Data(apply.stdout.utf8)) as? [String: Any])
        #expect((out["differences"] as? [Any])?.isEmpty == true)
        let command = try BinaryRunner.run(["recipe", "command", recipe])
        #expect(
            command.stdout.contains(
                "--wbits 4 --groupsize 16 --perchannel --qq_scale_bits 3 --qq_zero_bits 3 --qq_groupsize 16 --outlier_threshold=0.2 --permutation_order act_order --percdamp 1.0"
            ))
        // The model is one safetensors file, which main.py cannot load: said on stderr and in the recipe.
        #expect(
            command.stderr.contains("not expressible: model ") && command.stderr.contains(" is a single tensor file: "),
            "\(command.stderr)")
        let root = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: recipe))) as? [String: Any])
        #expect(
            (root["reference_unsupported"] as? [String])?.first?.contains("cannot load this model as given") == true)
        // The same recipe again refuses to overwrite without --force.
        let again = try BinaryRunner.run(
            ["quantize", Self.file, "--layer", "W", "--write-recipe", recipe] + Self.calibration)
        #expect(again.status == 1 && again.stderr.contains("already exists; pass --force"))
    }

    @Test("apply reports a changed figure and exits 1")
    func applyDetectsDifferences() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = dir.appendingPathComponent("r.json").path
        _ = try BinaryRunner.run(
            ["quantize", Self.file, "--layer", "W", "--no-baselines", "--write-recipe", recipe] + Self.calibration)
        var root = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: recipe))) as? [String: Any])
        var layers = root["layers"] as! [String: Any]
        var w = layers["W"] as! [String: Any]
        var f = w["figures"] as! [String: Any]
        f["n_outliers"] = 1
        w["figures"] = f
        layers["W"] = w
        root["layers"] = layers
        try JSONSerialization.data(withJSONObject: root).write(to: URL(fileURLWithPath: recipe))
        let apply = try BinaryRunner.run(["recipe", "apply", recipe, Self.file])
        #expect(apply.status == 1)
        #expect(apply.stdout.contains("W n_outliers: recorded 1.0, measured 243.0"))
    }

    @Test("the in-memory recipe equals the one quantize writes for the same settings")
    func sameRecipeBothWays() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("r.json").path
        let q = try BinaryRunner.run(
            ["quantize", Self.file, "--layer", "W", "--write-recipe", path] + Self.calibration)
        #expect(q.status == 0, "\(q.stderr)")
        let written = try Recipe.read(path: path)
        let st = try SafetensorsFile(path: Self.file)
        let p = try PreparedLayer(
            name: "W", weights: try st.matrix("W"), hessian: try st.matrix("H"), config: SpQRConfig())
        let result = try SpQR.run(p, config: SpQRConfig())
        var report = LayerReport(
            layer: "W", result: result, baselines: try SpQR.baselines(p, config: SpQRConfig()),
            equalBits: try EqualBitSearch.search(p, spqr: result), sourceDtype: "F32", sourceBits: 32,
            seconds: written.layers["W"]?.figures?.seconds,
            calibration: written.calibration.label)
        report.seconds = written.layers["W"]?.figures?.seconds
        let memory = Recipe.make(
            model: written.model, calibration: written.calibration, defaults: SpQRConfig(),
            configs: ["W": SpQRConfig()], shapes: ["W": [64, 128]], reports: ["W": report])
        #expect(memory.defaults == written.defaults)
        #expect(memory.layers == written.layers)
        #expect(memory.totals == written.totals)
    }

    @Test("quantize --recipe takes the layer's settings and --maps writes the maps")
    func recipeSettingsAndMaps() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = dir.appendingPathComponent("r.json").path
        let maps = dir.appendingPathComponent("m.safetensors").path
        _ = try BinaryRunner.run(
            [
                "quantize", Self.file, "--layer", "W", "--wbits", "2", "--groupsize", "8", "--outlier_threshold", "0.1",
                "--no-baselines", "--write-recipe", recipe,
            ] + Self.calibration)
        let r = try BinaryRunner.run(
            ["quantize", Self.file, "--layer", "W", "--recipe", recipe, "--json", "--no-baselines", "--maps", maps]
                + Self.calibration)
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(json["n_outliers"] as? Int == 2222)
        let m = try SafetensorsFile(path: maps)
        #expect(try m.integers("outliers").reduce(0, +) == 2222)
        #expect(try m.info("sensitivity").shape == [64, 128])
        let reference = try SafetensorsFile(path: Self.file)
        #expect(try reference.integers("w2-g8.outliers") == m.integers("outliers"))
    }

    @Test("sweep runs every combination, marks the front and plots it")
    func sweep() throws {
        let r = try BinaryRunner.run(
            [
                "sweep", Self.file, "--layer", "W", "--wbits", "2,3,4", "--groupsize", "8,16",
                "--outlier_threshold", "0.2,off", "--json", "--plot",
            ] + Self.calibration)
        #expect(r.status == 0, "\(r.stderr)")
        let points = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        #expect(points.count == 12)
        let bits = points.map { $0["avg_bits"] as! Double }
        let err = points.map { $0["rel_proxy_error"] as! Double }
        for (i, p) in points.enumerated() {
            let dominated = points.indices.contains { j in
                j != i && bits[j] <= bits[i] && err[j] <= err[i] && (bits[j] < bits[i] || err[j] < err[i])
            }
            #expect(p["pareto"] as? Bool == !dominated)
        }
        #expect(r.stderr.contains("● Pareto front") && r.stderr.contains("sweep: 12/12"))
        let csv = try BinaryRunner.run(
            ["sweep", Self.file, "--layer", "W", "--wbits", "3,4", "--no-plot"] + Self.calibration)
        let lines = csv.stdout.split(separator: "\n")
        #expect(lines.count == 3 && lines[0].hasPrefix("wbits,groupsize,"))
        #expect(lines[1].hasPrefix("3,16,") && lines[2].hasPrefix("4,16,"))
    }

    @Test("malformed recipes and bad lists give specific errors and exit codes")
    func errors() throws {
        let dir = try Self.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.json").path
        try Data("{\"format\": \"spqr-explorer-recipe\", \"format_version\": 7}".utf8).write(
            to: URL(fileURLWithPath: bad))
        let v = try BinaryRunner.run(["recipe", "validate", bad])
        #expect(v.status == 1)
        #expect(v.stderr.contains("recipe: missing field \"tool_version\"") || v.stderr.contains("format_version"))
        let list = try BinaryRunner.run(["quantize", Self.file, "--layer", "W", "--wbits", "3,4"])
        #expect(list.status == 2 && list.stderr.contains("--wbits takes one value here (lists are for `sweep`)"))
        let noTerminal = try BinaryRunner.run([])
        #expect(
            noTerminal.status == 1
                && noTerminal.stderr.contains("the explorer needs a terminal on standard input and output"))
        let badValue = try BinaryRunner.run(["sweep", Self.file, "--layer", "W", "--groupsize", "8,x"])
        #expect(badValue.status == 2 && badValue.stderr.contains("--groupsize takes a whole number or 'none', got 'x'"))
    }
}

@Suite("Headless commands on the sample bundle")
struct SampleCommandsTests {
    static let samples = BinaryRunner.packageRoot.appendingPathComponent("samples").path
    static var checkpoint: String { "\(samples)/smollm2-135m-instruct.block15.gguf" }
    static var hessians: String { "\(samples)/smollm2-135m-instruct.block15.hessians.safetensors" }

    @Test("recipe apply on a recipe made from the sample reproduces its figures")
    func applyOnSample() throws {
        let dir = try HeadlessCommandsTests.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = dir.appendingPathComponent("r.json").path
        let q = try BinaryRunner.run([
            "quantize", Self.checkpoint, "--layer", "model.layers.15.self_attn.k_proj.weight",
            "--hessians", Self.hessians, "--write-recipe", recipe, "--json",
        ])
        #expect(q.status == 0, "\(q.stderr)")
        // The tensor is stored as Q4_1: quantize says it re-quantizes, on stderr and in JSON.
        let json = try #require(try JSONSerialization.jsonObject(with: Data(q.stdout.utf8)) as? [String: Any])
        let note = try #require(json["source_note"] as? String)
        #expect(note.contains("re-quantizes already-quantized weights"), "\(note)")
        #expect(q.stderr.contains("note: \(note)\n"), "\(q.stderr)")
        let r = try Recipe.read(path: recipe)
        #expect(r.calibration.kind == .hessian && r.calibration.nSequences == 128)
        #expect(r.model.files.map(\.name) == ["smollm2-135m-instruct.block15.gguf"])
        // Without a checkpoint, the recipe's model path.
        let apply = try BinaryRunner.run(["recipe", "apply", recipe])
        #expect(apply.status == 0, "\(apply.stdout)\(apply.stderr)")
        #expect(apply.stdout.contains("1 layer(s) measured; 0 figure(s) differ"))
        #expect(
            apply.stderr.contains("apply: 1/1 model.layers.15.self_attn.k_proj.weight\n"),
            "progress per layer: \(apply.stderr)")
        #expect(!apply.stderr.contains("hashing"), "a 19 MB calibration file is checked without a note")
        let layers = try BinaryRunner.run(["layers", Self.checkpoint])
        #expect(layers.stdout.contains("model.layers.15.mlp.down_proj.weight") && layers.stdout.contains("Q4_1"))
    }

    @Test("recipe apply without a checkpoint whose recorded model path does not exist says so")
    func applyMissingModel() throws {
        let dir = try HeadlessCommandsTests.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let recipe = dir.appendingPathComponent("r.json").path
        let r = Recipe.make(
            model: .init(path: dir.appendingPathComponent("gone.safetensors").path, files: []),
            calibration: .init(kind: .none, file: nil, sha256: nil, nSequences: nil, label: "none"),
            defaults: SpQRConfig(), configs: [:], shapes: [:], reports: [:])
        try r.write(to: recipe, overwrite: false)
        let apply = try BinaryRunner.run(["recipe", "apply", recipe])
        #expect(apply.status == 1)
        #expect(
            apply.stderr.contains("\(recipe): its model \(r.model.path) does not exist")
                && apply.stderr.contains("pass the checkpoint after the recipe"), "\(apply.stderr)")
    }

    @Test(
        "layers --stats --json: every quantizable tensor's statistics as computed in-process and its note; the table gives each note once"
    )
    func layersOnSample() throws {
        let r = try BinaryRunner.run(["layers", Self.checkpoint, "--stats", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(!r.stdout.contains("\\/"), "slashes are not escaped")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]])
        let checkpoint = try ModelFiles.openCheckpoint(Self.checkpoint)
        let quantizable = checkpoint.tensors.filter(\.isQuantizable)
        #expect(quantizable.count == 7 && rows.count == checkpoint.tensors.count)
        for t in quantizable {
            let row = try #require(rows.first { $0["name"] as? String == t.name })
            let stats = try #require(row["statistics"] as? [String: Any], "\(t.name) has no statistics")
            let expected = TensorStatistics(try checkpoint.matrix(t.name).values)
            #expect(isClose(stats["std"] as? Double ?? 0, expected.std, relative: 1e-12))
            #expect(isClose(stats["kurtosis"] as? Double ?? 0, expected.kurtosis, relative: 1e-12))
            #expect((row["note"] as? String)?.contains("re-quantizes") == true)
        }
        let q = try #require(rows.first { $0["name"] as? String == "model.layers.15.self_attn.q_proj.weight" })
        #expect((q["note"] as? String)?.contains("rotary order") == true)
        #expect(rows.first { $0["name"] as? String == "model.layers.15.input_layernorm.weight" }?["statistics"] == nil)
        // The table puts the notes on stderr, once per text: the five tensors that share one get one line.
        #expect(!r.stderr.contains("note: "), "JSON carries the notes itself")
        let table = try BinaryRunner.run(["layers", Self.checkpoint])
        let notes = table.stderr.split(separator: "\n").filter { $0.hasPrefix("note: ") }
        #expect(notes.count == 3, "\(r.stderr)")
        #expect(notes.contains { $0.hasPrefix("note: 5 tensors: stored as Q4_1") })
    }
}
