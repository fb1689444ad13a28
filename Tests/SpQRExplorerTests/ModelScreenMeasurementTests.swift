// The model screen's measurement effect on a tiny random LLaMA directory (QuantizeModelEndToEndTests)
// over a four-setting menu: progress events, then every planned layer's front, which the reducer turns
// into an allocation within the target; a second run reads every layer from the cache; a checkpoint that
// is not a whole model is refused with what the screen needs.

import Foundation
import Testing

@testable import SpQRCore
@testable import SpQRExplorer

@Suite("Model screen measurement", .serialized)
struct ModelScreenMeasurementTests {
    static let menu = try! SettingsMenu.parse("wbits=2,3;groupsize=16;outlier_threshold=0.2,off")

    /// Runs `effect` and collects the model screen's events until one ends the measurement (60 s at most).
    func events(_ runner: EffectRunner, _ effect: Effect) -> [ModelScreenEvent] {
        runner.run(effect)
        var out: [ModelScreenEvent] = []
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            for case .model(let e) in runner.drain() {
                out.append(e)
                switch e {
                case .measured, .failed, .stopped: return out
                case .progress: break
                }
            }
            usleep(2000)
        }
        return out
    }

    @Test("every layer measured with progress, an allocation within the target, and the cache read back")
    func measuresTheModel() throws {
        let (dir, source) = try QuantizeModelEndToEndTests.scratchWithTinyLlama("model-screen")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let runner = EffectRunner(
            checkpoint: try ModelFiles.openCheckpoint(source), calibration: IdentityCalibration(),
            frontsCacheDirectory: dir + "/cache")
        let first = events(runner, .measureFronts(id: 1, menu: Self.menu, base: SpQRConfig()))
        let progress = first.compactMap { if case .progress(1, let p) = $0 { return p } else { return nil } }
        #expect(progress.count >= 14 * 4)
        #expect(progress.last?.layers == 14 && progress.allSatisfy { $0.cachedLayers == 0 })
        guard case .measured(1, let fronts) = first.last else {
            Issue.record("no fronts: \(first.last.map { "\($0)" } ?? "nothing")")
            return
        }
        #expect(fronts.layers.count == 14 && fronts.configs.count == 4)

        // The reducer on the checkpoint's rows: the grid has the two blocks × seven types, the first target
        // is the defaults' average bits and the allocation meets it.
        var s = ExplorerApp.initialState(
            checkpoint: try ModelFiles.openCheckpoint(source), calibration: IdentityCalibration(),
            settings: SpQRConfig(), width: 80, height: 24, capabilities: .full)
        _ = Reducer.reduce(&s, .terminal(.key(.char("M"))))
        _ = Reducer.reduce(&s, .model(.measured(id: s.modelScreen.measurementID, fronts)))
        let grid = ModelGrid(s.rows)
        #expect(grid.blocks == [0, 1])
        #expect(grid.types.map(ModelGrid.header) == ["q", "k", "v", "o", "gate", "up", "down"])
        let a = try #require(s.modelScreen.allocation)
        #expect(a.avgBits <= s.modelScreen.budget!)

        let second = events(runner, .measureFronts(id: 2, menu: Self.menu, base: SpQRConfig()))
        guard case .measured(2, let again) = second.last else {
            Issue.record("no fronts from the cache: \(second.last.map { "\($0)" } ?? "nothing")")
            return
        }
        #expect(again == fronts)
        let cached = second.compactMap {
            if case .progress(2, let p) = $0 { return p.cachedLayers } else { return nil }
        }
        #expect(cached.last == 14)
    }

    @Test("with --text windows: each layer's sensitivity measured after the fronts, the allocation by predicted KL")
    func sensitivity() throws {
        let (dir, source) = try QuantizeModelEndToEndTests.scratchWithTinyLlama("model-screen-text")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let windows = [[3, 17, 42, 8, 8, 23, 49, 0, 11, 30, 5, 19], [44, 2, 2, 38, 13, 27, 6, 41, 33, 9, 20, 16]]
        let runner = EffectRunner(
            checkpoint: try ModelFiles.openCheckpoint(source), calibration: IdentityCalibration(),
            frontsCacheDirectory: dir + "/cache",
            sensitivityText: SensitivityText(path: "t.txt", sha256: "abc", windows: windows))
        let first = events(runner, .measureFronts(id: 1, menu: Self.menu, base: SpQRConfig()))
        let phases = first.compactMap { if case .progress(1, let p) = $0 { return p.phase } else { return nil } }
        #expect(phases.first == "measuring the model")
        #expect(phases.filter { $0 == "measuring each layer's sensitivity" }.count == 14)
        guard case .measured(1, let fronts) = first.last else {
            Issue.record("no fronts: \(first.last.map { "\($0)" } ?? "nothing")")
            return
        }
        let s = try #require(fronts.sensitivity)
        #expect(s.layers.map(\.layer) == fronts.layers.map(\.layer) && s.layers.allSatisfy { $0.kl > 0 })
        #expect(s.source.hasPrefix("2 windows × 12 tokens of t.txt"))
        #expect(fronts.errorName == "predicted KL")

        // The screen's totals name the error; a second run reads the sensitivities from the cache.
        var state = ExplorerApp.initialState(
            checkpoint: try ModelFiles.openCheckpoint(source), calibration: IdentityCalibration(),
            settings: SpQRConfig(), width: 120, height: 30, capabilities: .full)
        _ = Reducer.reduce(&state, .terminal(.key(.char("M"))))
        _ = Reducer.reduce(&state, .model(.measured(id: state.modelScreen.measurementID, fronts)))
        #expect(Renderer.render(state).text.contains("× vs fp16 · predicted KL "))
        let second = events(runner, .measureFronts(id: 2, menu: Self.menu, base: SpQRConfig()))
        guard case .measured(2, let again) = second.last else {
            Issue.record("no fronts from the cache")
            return
        }
        #expect(again == fronts)
        #expect(
            !second.contains {
                if case .progress(2, let p) = $0 { return p.phase.contains("sensitivity") } else { return false }
            })
    }

    @Test("a checkpoint that is not a whole model is refused with what the screen needs")
    func notAModel() {
        let runner = EffectRunner(
            checkpoint: ExplorerFixtures.checkpoint, calibration: IdentityCalibration(),
            frontsCacheDirectory: NSTemporaryDirectory() + "spqr-model-screen-unused-\(getpid())")
        let e = events(runner, .measureFronts(id: 3, menu: Self.menu, base: SpQRConfig()))
        guard case .failed(3, let message) = e.last else {
            Issue.record("expected a failure, got \(e)")
            return
        }
        #expect(message.hasPrefix("not a whole model: "), "\(message)")
        #expect(message.contains("config.json: cannot read"), "the reason comes before what the screen needs")
        #expect(
            message.hasSuffix("the model screen needs a GGUF model file, or safetensors with config.json beside them"))
    }
}
