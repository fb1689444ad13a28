// The window rules of the evaluation protocol and of calibration sampling, the percentile, and the two
// forms of LLaMA-3 RoPE scaling (config.json and GGUF).

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

final class RopeScalingTests: XCTestCase {
    /// A LLaMA-3.1 GGUF carries the scaling as `rope_freqs.weight`, the divisors llama.cpp's converter writes
    /// (convert_hf_to_gguf.py: factor for long wavelengths, 1 for short, 1 / ((1 − s)/factor + s) between);
    /// dividing by them gives transformers' llama3 frequencies.
    func testGGUFDivisorsGiveTheLlama3Frequencies() throws {
        let base = try ModelConfig.fromJSON([
            "model_type": "llama", "hidden_size": 4096, "intermediate_size": 14336,
            "num_hidden_layers": 1, "num_attention_heads": 32, "num_key_value_heads": 8,
            "vocab_size": 10, "rope_theta": 500000.0,
        ])
        var scaled = base
        scaled.ropeScaling = .llama3(factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192)
        let plain = base.inverseFrequencies()
        let divisors = plain.map { f -> Float in
            let wavelen = 2 * Double.pi / Double(f)
            if wavelen < 8192 / 4 { return 1 }
            if wavelen > 8192 / 1 { return 8 }
            let s = (8192 / wavelen - 1) / (4 - 1)
            return Float(1 / ((1 - s) / 8 + s))
        }
        var gguf = base
        gguf.ropeScaling = .divisors(divisors)
        let a = scaled.inverseFrequencies()
        let b = gguf.inverseFrequencies()
        XCTAssertTrue(divisors.contains(1) && divisors.contains(8) && divisors.contains { $0 > 1 && $0 < 8 })
        for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-6 * x) }
    }
}
