// The key-latency bench (`explore --bench-keys`) on the fixture layer: every key is pressed, reduced and
// rendered with a real EffectRunner working in the background, and one figure is printed per key. The
// figures are printed, not asserted (the CI machine's load decides them); the big layer's are in the README.

import Testing

@testable import SpQRCore
@testable import SpQRExplorer

@Suite("Key latency bench")
struct KeyLatencyBenchTests {
    @Test("every key gets a frame time and a longest loop turn")
    func bench() throws {
        let s = try ExplorerFixtures.layerState(width: 120, height: 40)
        let runner = EffectRunner(checkpoint: ExplorerFixtures.checkpoint, calibration: IdentityCalibration())
        let figures = KeyLatencyBench.run(s, runner: runner, settleMilliseconds: 2)
        #expect(figures.map(\.0) == KeyLatencyBench.keys.map(\.label))
        #expect(figures.allSatisfy { $0.1 > 0 && $0.2 >= 0 })
    }
}
