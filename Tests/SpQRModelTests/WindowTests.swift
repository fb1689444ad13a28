// The window rules of the evaluation protocol and of calibration sampling, and the percentile.

import XCTest
@testable import SpQRModel

final class WindowTests: XCTestCase {
    func testEvaluationWindowsDropTheRemainder() {
        let w = Perplexity.windows(Array(0..<10), seqlen: 3)
        XCTAssertEqual(w, [[0, 1, 2], [3, 4, 5], [6, 7, 8]])
        XCTAssertEqual(Perplexity.windows(Array(0..<10), seqlen: 3, maxWindows: 2).count, 2)
        XCTAssertTrue(Perplexity.windows(Array(0..<2), seqlen: 3).isEmpty)
    }

    /// `even` starts where tools/collect_hessians.py starts: int(i * count / n) * seqlen.
    func testEvenSamplingIsTheCollectorsSpacing() {
        let tokens = Array(0..<100)
        // count = 100 / 8 = 12 windows; n = 5 → int(i * 12 / 5) = 0, 2, 4, 7, 9.
        XCTAssertEqual(WindowSampling.even.windows(tokens, seqlen: 8, count: 5).map(\.first!), [0, 16, 32, 56, 72])
        XCTAssertEqual(WindowSampling.first.windows(tokens, seqlen: 8, count: 3).map(\.first!), [0, 8, 16])
        XCTAssertEqual(WindowSampling.even.windows(tokens, seqlen: 8, count: 50).count, 12)
    }

    func testRandomSamplingIsSeededAndInRange() {
        let tokens = Array(0..<100)
        let a = WindowSampling.random.windows(tokens, seqlen: 10, count: 20, seed: 4)
        XCTAssertEqual(a, WindowSampling.random.windows(tokens, seqlen: 10, count: 20, seed: 4))
        XCTAssertNotEqual(a, WindowSampling.random.windows(tokens, seqlen: 10, count: 20, seed: 5))
        XCTAssertTrue(a.allSatisfy { $0.count == 10 && $0 == Array($0[0]..<($0[0] + 10)) })
        XCTAssertGreaterThan(Set(a.map(\.first!)).count, 10)
    }

    /// numpy.percentile([1, 2, 3, 4, 10], 99) = 4 + 0.96 · 6 = 9.76.
    func testPercentileInterpolatesLikeNumpy() {
        XCTAssertEqual(Perplexity.percentile([10, 1, 3, 2, 4], 0.99), 9.76, accuracy: 1e-12)
        XCTAssertEqual(Perplexity.percentile([5], 0.99), 5)
    }
}
