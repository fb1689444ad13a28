// The runtime on the real SmolLM2-135M-Instruct Q4_1 GGUF against transformers' answers on the same token
// ids (Fixtures/smollm2-reference.safetensors, made by tools/make_model_fixtures.py with torch 2.15 and
// transformers 5.24, which dequantize the GGUF to float32 exactly as the project's reader does).

import Foundation
import XCTest

@testable import SpQRCore
@testable import SpQRModel

/// The SmolLM2 GGUF (`smolLM2GGUF`), else fetched by scripts/fetch-model.sh into its cache, else a skip that
/// says why.
func smolLM2Path() throws -> String {
    if let path = smolLM2GGUF { return path }
    let script = repositoryRoot + "/scripts/fetch-model.sh"
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/bash")
    p.arguments = [script]
    let out = Pipe()
    let err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let path = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(
        in: .whitespacesAndNewlines)
    let reason = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    guard p.terminationStatus == 0, FileManager.default.fileExists(atPath: path) else {
        throw XCTSkip(
            "SmolLM2-135M-Instruct could not be fetched (scripts/fetch-model.sh: \(reason.trimmingCharacters(in: .whitespacesAndNewlines)))"
        )
    }
    return path
}

let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// transformers' reference figures.
let smolLM2Reference: SafetensorsFile = try! SafetensorsFile(path: modelFixtures + "/smollm2-reference.safetensors")

/// One decoder shared by the tests (loading converts the 49152 × 576 embedding).
nonisolated(unsafe) var sharedSmolLM2: Decoder?
func smolLM2() throws -> Decoder {
    if let d = sharedSmolLM2 { return d }
    let d = try Decoder(path: try smolLM2Path())
    sharedSmolLM2 = d
    return d
}

final class SmolLM2Tests: XCTestCase {
    func testConfigurationFromGGUFMetadata() throws {
        let c = try smolLM2().config
        XCTAssertEqual(
            [c.blocks, c.hidden, c.heads, c.kvHeads, c.headDim, c.intermediate, c.vocabulary],
            [30, 576, 9, 3, 64, 1536, 49152])
        XCTAssertEqual(c.ropeTheta, 100_000)
        XCTAssertEqual(c.ropeScaling, .none)
        XCTAssertTrue(c.tiedEmbeddings)
        XCTAssertFalse(c.attentionBias)
        XCTAssertEqual(c.family, "llama")
    }

    /// Logits of window 0: |Δ| ≤ 3e-4 where logits span about ±30 (float32 products of 576–1536 terms
    /// through 30 blocks, summed in a different order than torch's; measured: 7.1e-5), the
    /// full-vocabulary logsumexp at every position within 2e-4 (measured 4.5e-5), the same top token everywhere.
    func testLogitsMatchTransformers() throws {
        let model = try smolLM2()
        let tokens = try smolLM2Reference.integers("tokens")
        let t = 512
        let v = model.config.vocabulary
        let x = try model.embed([Array(tokens[0..<t])])
        for b in 0..<model.config.blocks { try model.runBlock(b, on: x) }
        let logits = FloatBuffer(t * v)
        let normed = FloatBuffer(t * model.config.hidden)
        model.finalNormed(x, window: 0, into: normed.pointer)
        model.logits(normed: normed.pointer, rows: t, into: logits.pointer)

        let positions = try smolLM2Reference.integers("logits_positions")
        let rows = try smolLM2Reference.floats("logits_rows")
        let width = rows.count / positions.count
        var maxDiff: Float = 0
        for (k, p) in positions.enumerated() {
            for j in 0..<width { maxDiff = max(maxDiff, abs(logits.pointer[p * v + j] - rows[k * width + j])) }
        }
        let lse = try smolLM2Reference.floats("logsumexp")
        let top = try smolLM2Reference.integers("argmax")
        var maxLSE = 0.0
        var agree = 0
        for p in 0..<t {
            let (l, arg) = Perplexity.logSumExp(logits.pointer + p * v, v)
            maxLSE = max(maxLSE, abs(l - Double(lse[p])))
            if arg == top[p] { agree += 1 }
        }
        print(
            "SmolLM2 logits: max |Δ| \(maxDiff) over \(positions.count)×\(width), max |Δ logsumexp| \(maxLSE), top-1 \(agree)/\(t)"
        )
        XCTAssertLessThan(maxDiff, 3e-4)
        XCTAssertLessThan(maxLSE, 2e-4)
        XCTAssertEqual(agree, t)
    }

    /// Perplexity of 4 windows of 512 within 0.1% of transformers' (measured: 1.5e-5 relative), each window's
    /// mean NLL within 5e-5 (measured 1.6e-5; torch reduces in float32, this runtime in double).
    func testPerplexityMatchesTransformers() throws {
        let model = try smolLM2()
        let tokens = try smolLM2Reference.integers("tokens")
        let windows = Perplexity.windows(tokens, seqlen: 512)
        XCTAssertEqual(windows.count, 4)
        let result = try Perplexity.evaluate(model, windows: windows)
        let reference = try smolLM2Reference.floats("window_nll").map(Double.init)
        let refPPL = Double(smolLM2Reference.metadata["ppl"]!)!
        print("SmolLM2 ppl \(result.ppl) vs transformers \(refPPL); window NLL \(result.windowNLL) vs \(reference)")
        XCTAssertEqual(result.ppl, refPPL, accuracy: 1e-3 * refPPL)
        for (a, b) in zip(result.windowNLL, reference) { XCTAssertEqual(a, b, accuracy: 5e-5) }
    }

    /// The model against itself as base: KL 0, full agreement, equal perplexities.
    func testKLAgainstItselfIsZero() throws {
        let model = try smolLM2()
        let tokens = try smolLM2Reference.integers("tokens")
        let r = try Perplexity.evaluate(
            model, base: model, windows: Perplexity.windows(Array(tokens[0..<256]), seqlen: 128))
        XCTAssertEqual(r.klMean!, 0, accuracy: 1e-9)
        XCTAssertEqual(r.top1Agreement, 1)
        XCTAssertEqual(r.basePPL!, r.ppl, accuracy: 1e-12)
    }

    /// Hessians of 4 even windows of 64 calibration tokens against tools/collect_hessians.py's: every stored
    /// entry within 2e-5 relative to the largest diagonal entry of its matrix (float32 accumulation of 256
    /// products in a different order, through up to 30 blocks; measured at most 3.4e-6), for five sites
    /// across the model.
    func testHessiansMatchTheCollector() throws {
        let model = try smolLM2()
        let tokens = try smolLM2Reference.integers("calib_tokens")
        let windows = WindowSampling.even.windows(tokens, seqlen: 64, count: 4)
        let out = NSTemporaryDirectory() + "spqr-model-hessians-\(getpid()).safetensors"
        defer { unlink(out) }
        try HessianCollector.collect(model, windows: windows, provenance: ["model": "SmolLM2"], to: out)
        let file = try HessianFileCalibration(path: out)
        XCTAssertEqual(file.layers.count, 7 * 30 + 1)
        let sites = try JSONSerialization.jsonObject(with: Data(smolLM2Reference.metadata["sites"]!.utf8)) as! [String]
        for site in sites {
            let diag = try smolLM2Reference.floats("hessian.\(site).diag")
            let corner = try smolLM2Reference.floats("hessian.\(site).corner")
            let weight = site == "lm_head" ? "lm_head.weight" : site + ".weight"
            let h = try file.hessian(forLayer: weight, inFeatures: diag.count)
            let scale = diag.map(abs).max()!
            var worst: Float = 0
            for i in 0..<diag.count { worst = max(worst, abs(h.values[i * diag.count + i] - diag[i]) / scale) }
            for i in 0..<64 {
                for j in 0..<64 { worst = max(worst, abs(h.values[i * diag.count + j] - corner[i * 64 + j]) / scale) }
            }
            print("Hessian \(site): max |Δ| / max diag = \(worst)")
            XCTAssertLessThan(worst, 2e-5, site)
        }
    }
}
