// The whole-vector tests of an eight-lane mask agree with asking each lane.

import Testing

@testable import SpQRCore

@Suite("Lane masks")
struct LaneMaskTests {
    @Test("someSet and everySet agree with the lanes for all 256 patterns, from comparisons and from literals")
    func wholeVectorTestsMatchTheLanes() {
        for pattern in 0..<256 {
            let lanes = (0..<8).map { pattern >> $0 & 1 == 1 }
            var literal = SIMDMask<SIMD8<Int32>>()
            for l in 0..<8 { literal[l] = lanes[l] }
            // The same lanes set by a float comparison, as the GPTQ loop makes its masks (−0 and NaN among
            // the values that leave a lane clear).
            var values = SIMD8<Float>(repeating: .nan)
            for l in 0..<8 { values[l] = lanes[l] ? Float(l + 1) : (l.isMultiple(of: 2) ? -0.0 : .nan) }
            let compared = values .> 0
            for mask in [literal, compared] {
                #expect(mask.someSet == lanes.contains(true), "pattern \(pattern)")
                #expect(mask.everySet == !lanes.contains(false), "pattern \(pattern)")
            }
        }
    }
}
