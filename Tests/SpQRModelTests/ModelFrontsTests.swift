// Measuring a whole (tiny) model over a menu: every linear layer quantize-model quantizes, in its order,
// the kept parameters, progress, the on-disk cache (a second run reads every layer back; another menu or
// calibration does not), and a cancelled run that keeps its finished layers and resumes from them.

import Foundation
import XCTest

@testable import SpQRCore
@testable import SpQRModel

final class ModelFrontsTests: XCTestCase {
    let menu = try! SettingsMenu.parse("wbits=2,4;outlier_threshold=0.2,off")

    /// A tiny model written to disk, opened, and an empty cache for it over `menu`; `cleanUp` removes both.
    func tinyModel() throws -> (model: Decoder, cache: FrontsCache, tiny: TinyModel, cleanUp: () -> Void) {
        let tiny = TinyModel()
        try tiny.write()
        let dir = NSTemporaryDirectory() + "spqr-fronts-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let model = try Decoder(path: tiny.dir)
        let cache = try FrontsCache(
            directory: dir, checkpoint: model.source, calibration: IdentityCalibration(), menu: menu,
            base: SpQRConfig())
        return (
            model, cache, tiny,
            {
                tiny.remove()
                try? FileManager.default.removeItem(atPath: dir)
            }
        )
    }

    func testMeasuresEveryPlannedLayerAndReadsTheCacheBack() throws {
        let (model, cache, tiny, cleanUp) = try tinyModel()
        defer { cleanUp() }
        let calibration = IdentityCalibration()
        let dir = cache.directory
        let seen = Locked<[FrontsProgress]>([])
        let fronts = try ModelFrontsMeasurement.measure(
            model: model, calibration: calibration, menu: menu, base: SpQRConfig(), cache: cache
        ) { p in seen.withLock { $0.append(p) } }
        let plan = try QuantizationPlan.make(model, defaults: SpQRConfig())
        XCTAssertEqual(fronts.layers.map(\.layer), plan.layers.map(\.name))
        XCTAssertEqual(fronts.layers.count, 14)
        XCTAssertEqual(fronts.layers.map(\.shape), plan.layers.map(\.shape))
        XCTAssertTrue(fronts.layers.allSatisfy { $0.points.count == 4 })
        XCTAssertEqual(fronts.configs, try menu.configs(around: SpQRConfig()))
        let all = tiny.tensors.values.reduce(0) { $0 + $1.shape.reduce(1, *) }
        XCTAssertEqual(fronts.keptParameters, all - plan.parameters)
        XCTAssertTrue(fronts.dataFree)
        // Data-free: the error is ‖W − Q‖², so it equals rel_weight_error² · ‖W‖² of the same run.
        let w = try model.storedMatrix(plan.layers[0].name)
        let run = try LayerMeasurement(
            name: "q", weights: w, hessian: try calibration.hessian(forLayer: "q", inFeatures: w.cols)
        )
        .measure(fronts.configs[1], steps: [.fullLayer])
        let norm = w.values.reduce(0.0) { $0 + Double($1) * Double($1) }
        XCTAssertEqual(
            fronts.layers[0].points[1].error, pow(run.result.figures.relWeightError, 2) * norm, accuracy: 1e-6 * norm)
        let progress = seen.withLock { $0 }
        XCTAssertEqual(progress.count, 14 * 5, "a start and four settings per layer")
        XCTAssertEqual(progress.last?.fraction, 1)
        XCTAssertTrue(zip(progress, progress.dropFirst()).allSatisfy { $0.fraction <= $1.fraction })

        // Again: every layer from the cache, the same fronts.
        let again = Locked(0)
        let second = try ModelFrontsMeasurement.measure(
            model: model, calibration: calibration, menu: menu, base: SpQRConfig(), cache: cache
        ) { p in again.withLock { $0 = p.cachedLayers } }
        XCTAssertEqual(second, fronts)
        XCTAssertEqual(again.withLock { $0 }, 14)

        // Another menu or base setting is another key.
        let other = try FrontsCache(
            directory: dir, checkpoint: model.source, calibration: calibration,
            menu: try SettingsMenu.parse("wbits=3,4"), base: SpQRConfig())
        XCTAssertNotEqual(other.key, cache.key)
        XCTAssertNil(other.load())
        var damped = SpQRConfig()
        damped.percdamp = 0.5
        XCTAssertNotEqual(
            try FrontsCache(
                directory: dir, checkpoint: model.source, calibration: calibration, menu: menu, base: damped
            ).key, cache.key)
    }

    func testCancelledRunKeepsFinishedLayersAndResumes() throws {
        let (model, cache, tiny, cleanUp) = try tinyModel()
        defer { cleanUp() }
        let calibration = IdentityCalibration()
        let dir = cache.directory
        let token = CancellationToken()
        XCTAssertThrowsError(
            try ModelFrontsMeasurement.measure(
                model: model, calibration: calibration, menu: menu, base: SpQRConfig(), cache: cache, cancel: token
            ) { p in if p.layerIndex == 3 { token.cancel() } }
        ) { XCTAssertEqual(($0 as? SpQRError)?.kind, .cancelled) }
        XCTAssertEqual(cache.load()?.layers.count, 3)
        let resumed = Locked(0)
        let fronts = try ModelFrontsMeasurement.measure(
            model: model, calibration: calibration, menu: menu, base: SpQRConfig(), cache: cache
        ) { p in resumed.withLock { $0 = p.cachedLayers } }
        XCTAssertEqual(resumed.withLock { $0 }, 3)
        XCTAssertEqual(fronts.layers.count, 14)
        // A cache file that does not parse is ignored, not trusted.
        try Data("{".utf8).write(to: URL(fileURLWithPath: cache.path))
        XCTAssertNil(cache.load())
    }
}
