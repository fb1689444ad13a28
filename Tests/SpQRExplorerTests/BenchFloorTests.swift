// The bench's floor: the flops SpQR needs on a layer, at a given sgemm rate.

import Testing

@testable import SpQRExplorer

@Suite("bench floor")
struct BenchFloorTests {
    @Test("the floors of a 4096×11008 layer at 100 GFLOP/s (2 GFLOP per CPU second)")
    func floors() {
        let f = BenchFloor(gflops: 100, gflopsPerCPUSecond: 2, out: 4096, n: 11008)
        // out·in² = 4096 · 11008² = 496.3 GFLOP; in³·2/3 = 889.3 GFLOP.
        #expect(abs(f.loop - 4.963_371_581_44) < 1e-9)
        #expect(abs(f.factorisation - 8.892_707_416_747) < 1e-9)
        #expect(abs(f.firstRun - (f.loop + f.factorisation)) < 1e-12)
        #expect(abs(f.denominator - f.loop) < 1e-12)
        #expect(abs(f.cpu(f.loopFlops) - 248.168_579_072) < 1e-6)
    }
}
