// The quantizer's branch-free rounding against the standard library's ties-to-even rounding, bit for bit.

import SpQRTestSupport
import Testing

@testable import SpQRCore

@Suite("round half to even")
struct RoundingTests {
    static func agrees(_ x: Float) -> Bool {
        let mine = MinMaxQuantizer.roundedHalfEven(x)
        let standard = x.rounded(.toNearestOrEven)
        return mine.isNaN ? standard.isNaN : mine.bitPattern == standard.bitPattern
    }

    @Test("ties, signed zeros, the 2²³ boundary, infinities and NaN")
    func edges() {
        var values: [Float] = [
            0, 0.25, 0.5, 0.75, 1, 1.5, 2.5, 3.5, 4.5, 7.499_999_5, 8_388_607.5, 8_388_608, 8_388_609,
            16_777_216, 16_777_218, .greatestFiniteMagnitude, .leastNonzeroMagnitude, .leastNormalMagnitude,
            .infinity, .nan,
        ]
        for k in 0..<64 {
            let half = Float(k) + 0.5
            values += [half, half.nextUp, half.nextDown]
        }
        for v in values { #expect(Self.agrees(v) && Self.agrees(-v), "\(v)") }
    }

    @Test("every float in a million random bit patterns")
    func randomPatterns() {
        var g = SeededRandom(seed: 23)
        var failures = 0
        for _ in 0..<1_000_000 {
            let bits = UInt32(truncatingIfNeeded: g.next())
            // Half of them with exponents from 2⁻⁷ to 2²⁴, where rounding does something.
            let exponent = 120 + ((bits >> 8) & 0x1F)
            let x = Float(bitPattern: bits & 1 == 0 ? bits : (bits & 0x807F_FFFF) | (exponent << 23))
            if !Self.agrees(x) { failures += 1 }
        }
        #expect(failures == 0)
    }
}
