// Whole-model quantization on tiny random models: the staged block is the block (same hidden states, same
// Hessians as calibration), sequential Hessians are those of the block rerun with its earlier layers
// quantized (the reference's semantics), a stopped run resumes to the same layers, and the plan refuses a
// recipe made for another model before any work.

import Foundation
import XCTest

@testable import SpQRCore
@testable import SpQRModel

final class ModelQuantizerTests: XCTestCase {
    func windows(_ n: Int, _ t: Int, vocabulary: Int, seed: UInt64 = 3) -> [[Int]] {
        var rng = SeededRandom(seed: seed)
        return (0..<n).map { _ in (0..<t).map { _ in Int(rng.next() % UInt64(vocabulary)) } }
    }

    func tiny() throws -> (TinyModel, Decoder) {
        let m = TinyModel()
        try m.write()
        return (m, try Decoder(path: m.dir))
    }

    func values(_ x: Hidden) -> [Float] { Array(x.data.buffer) }

    /// Hessians of block `b`'s sites by runBlock's observer (2/N Σ x xᵀ).
    func observedHessians(_ d: Decoder, _ b: Int, _ x: Hidden) throws -> [String: [Float]] {
        var sums: [String: HessianSum] = [:]
        for s in d.sites(block: b) { sums[s.name] = HessianSum(width: s.width) }
        try d.runBlock(b, on: x) { site, input, rows in sums[site.name]!.add(input, rows: rows) }
        return sums.mapValues { $0.hessian(windows: x.windows) }
    }

    func testStagedBlockIsTheBlockWithTheSameHessians() throws {
        let (m, d) = try tiny()
        defer { m.remove() }
        let w = windows(3, 7, vocabulary: d.config.vocabulary)
        let plain = try d.embed(w)
        let expected = try observedHessians(d, 0, plain)
        let staged = try d.embed(w)
        var seen: [String: [Float]] = [:]
        try d.runBlockSequentially(0, on: staged, needsHessian: { _ in true }) { site, h in
            seen[site.name] = h!.values
            return [:]
        }
        XCTAssertEqual(values(staged), values(plain), "the staged block must compute the block exactly")
        XCTAssertEqual(seen.keys.sorted(), expected.keys.sorted())
        for (k, v) in expected { XCTAssertEqual(seen[k], v, k) }
    }

    /// At each site the Hessian is that of the block rerun with the layers quantized so far in place, and
    /// the block's output is that of the block with every layer replaced.
    func testSequentialHessiansSeeTheQuantizedEarlierLayers() throws {
        let (m, d) = try tiny()
        defer { m.remove() }
        let w = windows(2, 9, vocabulary: d.config.vocabulary)
        // A stand-in for quantization that changes every weight visibly: round to multiples of 0.25.
        var replaced: [String: [Float]] = [:]
        let staged = try d.embed(w)
        var seen: [String: [Float]] = [:]
        try d.runBlockSequentially(1, on: staged, needsHessian: { _ in true }) { site, h in
            seen[site.name] = h!.values
            var out: [String: [Float]] = [:]
            for name in site.weights { out[name] = m.tensors[name]!.values.map { ($0 * 4).rounded() / 4 } }
            for (k, v) in out { replaced[k] = v }
            // The rerun: block 1 with the layers of the earlier sites replaced.
            defer { d.weightOverride = nil }
            let before = replaced.filter { !site.weights.contains($0.key) }
            d.weightOverride = { name, buffer in
                guard let v = before[name] else { return false }
                _ = buffer.update(fromContentsOf: v)
                return true
            }
            let rerun = try observedHessians(d, 1, try d.embed(w))
            XCTAssertEqual(h!.values, rerun[site.name], "site \(site.name)")
            return out
        }
        XCTAssertEqual(seen.count, 4)
        d.weightOverride = { name, buffer in
            guard let v = replaced[name] else { return false }
            _ = buffer.update(fromContentsOf: v)
            return true
        }
        let all = try d.embed(w)
        try d.runBlock(1, on: all)
        XCTAssertEqual(values(staged), values(all))
        // And the stand-in did change what later sites see.
        d.weightOverride = nil
        let original = try observedHessians(d, 1, try d.embed(w))
        XCTAssertNotEqual(seen["model.layers.1.mlp.down_proj"], original["model.layers.1.mlp.down_proj"])
    }

    func journalDir() -> String {
        NSTemporaryDirectory() + "spqr-journal-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Every finished layer's weights and report (without its wall time).
    func layers(_ dir: String) throws -> [String: ([Float], LayerReport)] {
        let journal = try QuantizationJournal(directory: dir, inputs: "x")
        var out: [String: ([Float], LayerReport)] = [:]
        for name in journal.finished {
            var (w, report) = try journal.load(name)
            report.seconds = nil
            out[name] = (w, report)
        }
        return out
    }

    func testAStoppedRunResumesToTheSameLayers() throws {
        let (m, d) = try tiny()
        defer { m.remove() }
        let plan = try QuantizationPlan.make(d, defaults: SpQRConfig())
        XCTAssertEqual(plan.layers.count, 14)
        XCTAssertEqual(
            plan.layers.prefix(7).map { $0.name.split(separator: ".")[4] },
            ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
        let cal = ModelCalibration.sequential(windows: windows(4, 8, vocabulary: d.config.vocabulary), label: "t")
        let whole = journalDir()
        defer { try? FileManager.default.removeItem(atPath: whole) }
        try ModelQuantizer(model: d, plan: plan, journal: try QuantizationJournal(directory: whole, inputs: "x"))
            .run(cal)
        let stopped = journalDir()
        defer { try? FileManager.default.removeItem(atPath: stopped) }
        let cancel = CancellationToken()
        XCTAssertThrowsError(
            try ModelQuantizer(model: d, plan: plan, journal: try QuantizationJournal(directory: stopped, inputs: "x"))
                .run(cal, cancel: cancel) { done, _, _ in if done == 9 { cancel.cancel() } })
        XCTAssertEqual(try QuantizationJournal(directory: stopped, inputs: "x").finished.count, 9)
        XCTAssertThrowsError(try QuantizationJournal(directory: stopped, inputs: "y")) { e in
            XCTAssertTrue("\(e)".contains("other inputs"), "\(e)")
        }
        var redone: [String] = []
        try ModelQuantizer(model: d, plan: plan, journal: try QuantizationJournal(directory: stopped, inputs: "x"))
            .run(cal) { _, _, name in if !name.isEmpty { redone.append(name) } }
        XCTAssertEqual(redone, plan.layers.suffix(5).map(\.name), "finished layers are not redone")
        let a = try layers(whole)
        let b = try layers(stopped)
        XCTAssertEqual(a.count, 14)
        XCTAssertEqual(a.keys.sorted(), b.keys.sorted())
        for (k, v) in a {
            XCTAssertEqual(b[k]?.0, v.0, "\(k): weights differ after resuming")
            XCTAssertEqual(b[k]?.1, v.1, "\(k): figures differ after resuming")
        }
        // A layer file changed on disk is refused, not used.
        let victim = stopped + "/" + plan.layers[0].name + ".safetensors"
        var bytes = try Data(contentsOf: URL(fileURLWithPath: victim))
        bytes[bytes.count - 1] ^= 1
        try bytes.write(to: URL(fileURLWithPath: victim))
        XCTAssertThrowsError(try QuantizationJournal(directory: stopped, inputs: "x").load(plan.layers[0].name)) {
            XCTAssertTrue("\($0)".contains("changed since it was written"), "\($0)")
        }
    }

    func testPlanTakesTheRecipeOverridesAndRefusesAnotherModelsRecipe() throws {
        let (m, d) = try tiny()
        defer { m.remove() }
        let defaults = SpQRConfig()
        var over = defaults
        over.wbits = 4
        let k = "model.layers.1.self_attn.k_proj.weight"
        func recipe(_ layers: [String: Recipe.Layer]) -> Recipe {
            Recipe(
                created: "", model: .init(path: m.dir, files: []),
                calibration: .init(kind: .none, file: nil, tensor: nil, sha256: nil, nSequences: nil, label: "none"),
                defaults: defaults, layers: layers)
        }
        let plan = try QuantizationPlan.make(
            d, defaults: defaults,
            recipe: recipe([
                k: .init(overrides: RecipeValue.differences(over, from: defaults), shape: [8, 16], figures: nil)
            ]))
        XCTAssertEqual(plan.layers.filter { $0.config != defaults }.map(\.name), [k])
        XCTAssertEqual(plan.layers.filter(\.overridden).map(\.name), [k])
        XCTAssertEqual(plan.layers.first { $0.name == k }?.config.wbits, 4)
        XCTAssertThrowsError(
            try QuantizationPlan.make(
                d, defaults: defaults, recipe: recipe([k: .init(overrides: [:], shape: [16, 16], figures: nil)]))
        ) { XCTAssertTrue("\($0)".contains("has shape [16, 16] but the model's is [8, 16]"), "\($0)") }
        XCTAssertThrowsError(
            try QuantizationPlan.make(
                d, defaults: defaults,
                recipe: recipe(["model.layers.7.mlp.up_proj.weight": .init(overrides: [:], shape: [], figures: nil)]))
        ) { XCTAssertTrue("\($0)".contains("the model has no tensor of that name"), "\($0)") }
        XCTAssertThrowsError(
            try QuantizationPlan.make(
                d, defaults: defaults,
                recipe: recipe(["model.norm.weight": .init(overrides: [:], shape: [], figures: nil)]))
        ) { XCTAssertTrue("\($0)".contains("not a linear layer, the embedding or the output layer"), "\($0)") }
        XCTAssertThrowsError(
            try QuantizationPlan.make(
                d, defaults: defaults,
                recipe: recipe(["lm_head.weight": .init(overrides: [:], shape: [], figures: nil)]))
        ) { XCTAssertTrue("\($0)".contains("ties its output layer to the embedding"), "\($0)") }
    }

    /// Named in a recipe, the embedding is quantized first with H = I and the output layer last with the
    /// Hessian of the final norm's output over the windows, after every block ran quantized.
    func testEmbeddingAndOutputLayerWhenTheRecipeNamesThem() throws {
        let m = TinyModel(["tie_word_embeddings": false])
        try m.write()
        defer { m.remove() }
        let d = try Decoder(path: m.dir)
        let names = [QuantizationPlan.embedding, QuantizationPlan.output]
        let recipe = Recipe(
            created: "", model: .init(path: m.dir, files: []),
            calibration: .init(kind: .none, file: nil, tensor: nil, sha256: nil, nSequences: nil, label: "none"),
            defaults: SpQRConfig(),
            layers: Dictionary(
                uniqueKeysWithValues: names.map { ($0, Recipe.Layer(overrides: [:], shape: [], figures: nil)) }))
        let plan = try QuantizationPlan.make(d, defaults: SpQRConfig(), recipe: recipe)
        XCTAssertEqual([plan.layers.first!.name, plan.layers.last!.name], names)
        let w = windows(3, 8, vocabulary: d.config.vocabulary)
        let dir = journalDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let journal = try QuantizationJournal(directory: dir, inputs: "x")
        try ModelQuantizer(model: d, plan: plan, journal: journal).run(.sequential(windows: w, label: "t"))
        // The expected output-layer Hessian: the model with every quantized layer, final norm, 2/N Σ x xᵀ.
        d.weightOverride = { name, buffer in
            guard journal.isDone(name) else { return false }
            _ = buffer.update(fromContentsOf: try journal.load(name).weights)
            return true
        }
        try d.loadEmbeddings()
        let x = try d.embed(w)
        for b in 0..<d.config.blocks { try d.runBlock(b, on: x) }
        let sum = HessianSum(width: x.width)
        let normed = FloatBuffer(x.length * x.width)
        for i in 0..<x.windows {
            d.finalNormed(x, window: i, into: normed.pointer)
            sum.add(normed.pointer, rows: x.length)
        }
        let expected = Matrix(rows: x.width, cols: x.width, values: sum.hessian(windows: x.windows))
        func spqr(_ name: String, _ hessian: Matrix) throws -> [Float] {
            try LayerMeasurement(name: name, weights: try d.storedMatrix(name), hessian: hessian)
                .measure(SpQRConfig(), steps: [.fullLayer]).result.dequantized.values
        }
        XCTAssertEqual(try journal.load(QuantizationPlan.output).weights, try spqr(QuantizationPlan.output, expected))
        XCTAssertEqual(
            try journal.load(QuantizationPlan.embedding).weights,
            try spqr(QuantizationPlan.embedding, Hessian.identity(d.config.hidden)))
        XCTAssertTrue(try journal.load(QuantizationPlan.embedding).report.calibration!.contains("one-hot"))
    }
}
