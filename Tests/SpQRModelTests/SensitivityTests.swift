// Each layer's sensitivity on a tiny model: the KL with one layer alone quantized equals what `eval`
// computes for the same model against the stored one (the identity of SensitivityMeasurement.swift, to
// the precision pinned here); the proxy loss is the fronts' figure at the same setting; a coarser
// reference gives more KL; layers kept from an earlier run are not run again; the cache round-trips.

import Foundation
import XCTest

@testable import SpQRCore
@testable import SpQRModel

final class SensitivityTests: XCTestCase {
    /// Two windows of 12 tokens of the tiny model's vocabulary.
    static let windows: [[Int]] = [
        [3, 17, 42, 8, 8, 23, 49, 0, 11, 30, 5, 19], [44, 2, 2, 38, 13, 27, 6, 41, 33, 9, 20, 16],
    ]

    static var reference: SpQRConfig {
        var c = SpQRConfig()
        c.wbits = 2
        c.groupsize = 8
        return c
    }

    func testKLIsEvalsKLAndProxyLossIsTheFrontsFigure() throws {
        let tiny = TinyModel()
        try tiny.write()
        defer { tiny.remove() }
        let model = try Decoder(path: tiny.dir)
        let plan = try QuantizationPlan.make(model, defaults: Self.reference)
        let calibration = IdentityCalibration()
        let seen = Locked<[Int]>([])
        let measured = try SensitivityMeasurement.measure(
            model: model, layers: plan.layers, calibration: calibration, reference: Self.reference,
            windows: Self.windows, progress: { p in seen.withLock { $0.append(p.layerIndex) } })
        XCTAssertEqual(measured.map(\.layer), plan.layers.map(\.name))
        XCTAssertEqual(seen.withLock { $0 }, Array(0..<14))
        XCTAssertNil(model.weightOverride, "the model runs as stored afterwards")
        XCTAssertTrue(measured.allSatisfy { $0.kl > 0 && $0.proxyLoss > 0 && $0.weight == $0.kl / $0.proxyLoss })

        var worst = 0.0
        for (i, layer) in plan.layers.enumerated() where [0, 3, 6, 7, 13].contains(i) {
            // eval's KL of the model with this layer quantized against the model as stored.
            let m = LayerMeasurement(
                name: layer.name, weights: try model.storedMatrix(layer.name),
                hessian: try calibration.hessian(forLayer: layer.name, inFeatures: layer.shape[1]))
            let q = try m.measure(Self.reference, steps: [.fullLayer]).result.dequantized.values
            let quantized = try Decoder(path: tiny.dir)
            quantized.weightOverride = { name, buffer in
                guard name == layer.name else { return false }
                _ = buffer.update(fromContentsOf: q)
                return true
            }
            let eval = try Perplexity.evaluate(quantized, base: try Decoder(path: tiny.dir), windows: Self.windows)
            let kl = try XCTUnwrap(eval.klMean)
            worst = max(worst, abs(measured[i].kl - kl) / kl)
            // The fronts' error at the same setting.
            let front = try LayerFront.measure(m, configs: [Self.reference])
            XCTAssertEqual(measured[i].proxyLoss, front.points[0].error, accuracy: 1e-12 * front.points[0].error)
        }
        // Float32 p_base against eval's double: measured 3.3·10⁻⁸ relative at worst.
        XCTAssertLessThan(worst, 1e-7)

        // A finer reference moves the model less.
        var fine = Self.reference
        fine.wbits = 6
        let finer = try SensitivityMeasurement.measure(
            model: model, layers: Array(plan.layers.prefix(3)), calibration: calibration, reference: fine,
            windows: Self.windows)
        for (a, b) in zip(finer, measured) { XCTAssertLessThan(a.kl, b.kl, a.layer) }
    }

    func testKnownLayersAreNotRunAgainAndTheCacheRoundTrips() throws {
        let tiny = TinyModel()
        try tiny.write()
        defer { tiny.remove() }
        let model = try Decoder(path: tiny.dir)
        let plan = try QuantizationPlan.make(model, defaults: Self.reference)
        let layers = Array(plan.layers.prefix(4))
        // Figures no run would give: taken as they are.
        var known = Dictionary(
            uniqueKeysWithValues: layers.map { ($0.name, LayerSensitivity(layer: $0.name, kl: 7, proxyLoss: 2)) })
        let all = try SensitivityMeasurement.measure(
            model: model, layers: layers, calibration: IdentityCalibration(), reference: Self.reference,
            windows: Self.windows, known: known)
        XCTAssertEqual(all.map(\.weight), [3.5, 3.5, 3.5, 3.5])
        known.removeValue(forKey: layers[2].name)
        let stored = Locked<[String]>([])
        let some = try SensitivityMeasurement.measure(
            model: model, layers: layers, calibration: IdentityCalibration(), reference: Self.reference,
            windows: Self.windows, known: known, each: { s in stored.withLock { $0.append(s.layer) } })
        XCTAssertEqual(stored.withLock { $0 }, [layers[2].name])
        XCTAssertEqual(some.map(\.kl).filter { $0 == 7 }.count, 3)
        XCTAssertNotEqual(some[2].kl, 7)

        let dir = NSTemporaryDirectory() + "spqr-sensitivity-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let cache = try FrontsCache(
            directory: dir, checkpoint: model.source, calibration: IdentityCalibration(),
            menu: try SettingsMenu.parse("wbits=2,4"), base: Self.reference)
        let key = try cache.sensitivityKey(textSHA256: "abc", windows: Self.windows, reference: Self.reference)
        XCTAssertNil(cache.loadSensitivity(key))
        let s = ModelSensitivity(source: "2 windows", layers: some)
        try cache.storeSensitivity(s, key)
        XCTAssertEqual(cache.loadSensitivity(key), s)
        // Another text, other windows or another reference is another key.
        XCTAssertNotEqual(
            try cache.sensitivityKey(textSHA256: "abd", windows: Self.windows, reference: Self.reference), key)
        XCTAssertNotEqual(
            try cache.sensitivityKey(textSHA256: "abc", windows: [Self.windows[0]], reference: Self.reference), key)
        XCTAssertNotEqual(
            try cache.sensitivityKey(textSHA256: "abc", windows: Self.windows, reference: SpQRConfig()), key)
        try Data("{".utf8).write(to: URL(fileURLWithPath: cache.sensitivityPath(key)))
        XCTAssertNil(cache.loadSensitivity(key), "a file that does not parse is ignored")
    }

    func testOuterLayersAndEmptyWindowsAreRefused() throws {
        let tiny = TinyModel()
        try tiny.write()
        defer { tiny.remove() }
        let model = try Decoder(path: tiny.dir)
        let plan = try QuantizationPlan.make(model, defaults: Self.reference)
        XCTAssertThrowsError(
            try SensitivityMeasurement.measure(
                model: model, layers: plan.layers, calibration: IdentityCalibration(), reference: Self.reference,
                windows: [[3]])
        ) { XCTAssertTrue("\($0)".contains("at least 2 tokens"), "\($0)") }
        // What the run would keep is checked before anything is allocated.
        // (2 windows of 12 tokens keep 4 · (2 blocks · 24 · 16 + 22 · 50) = 7472 bytes.)
        XCTAssertThrowsError(
            try SensitivityMeasurement.measure(
                model: model, layers: plan.layers, calibration: IdentityCalibration(), reference: Self.reference,
                windows: Self.windows, memoryLimit: 7471)
        ) { XCTAssertTrue("\($0)".contains("use fewer --nsamples or a smaller --seqlen"), "\($0)") }
        // The message gives both sizes and says where the limit comes from.
        XCTAssertThrowsError(
            try SensitivityMeasurement.measure(
                model: model, layers: plan.layers, calibration: IdentityCalibration(), reference: Self.reference,
                windows: Self.windows, memoryLimit: 4096)
        ) {
            XCTAssertTrue(
                "\($0)".contains("would keep 7.3 KiB (every block's input"), "\($0)")
            XCTAssertTrue("\($0)".contains("more than the 4.0 KiB allowed (the limit set for this run)"), "\($0)")
        }
        XCTAssertNoThrow(
            try SensitivityMeasurement.measure(
                model: model, layers: Array(plan.layers.prefix(1)), calibration: IdentityCalibration(),
                reference: Self.reference, windows: Self.windows, memoryLimit: 7472))
        let outer = QuantizationPlan.Layer(
            name: QuantizationPlan.embedding, block: -1, site: "model.embed_tokens", shape: [50, 16],
            config: Self.reference, overridden: false)
        XCTAssertThrowsError(
            try SensitivityMeasurement.measure(
                model: model, layers: [outer], calibration: IdentityCalibration(), reference: Self.reference,
                windows: Self.windows)
        ) { XCTAssertTrue("\($0)".contains("not a block layer"), "\($0)") }
    }
}
