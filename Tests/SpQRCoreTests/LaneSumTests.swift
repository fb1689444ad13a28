// The figures' Double sums go in the order LaneSum.swift defines: position p in lane p mod 8, each lane in
// increasing p, the lanes combined pairwise. The expected values below are that order written out one term
// at a time, compared for equality. The terms (spread over many decades, or like-sized with all their bits,
// over tails of every length) make another order give other bits in at least one case: each mutation of a
// lane, a tail, a mask or the combination fails a test here.

import SpQRTestSupport
import Testing

@testable import SpQRCore

@Suite("Lane sums")
struct LaneSumTests {
    /// The sum of `terms` in the defined order, one scalar add at a time.
    static func laneOrder(_ terms: [Double]) -> Double {
        var s = [Double](repeating: 0, count: 8)
        for (p, t) in terms.enumerated() { s[p % 8] += t }
        return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
    }

    /// Values whose sums depend on their order: magnitudes from 2⁻³⁰ to 2³⁰.
    static func spread(_ count: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0..<count).map { _ in
            g.gaussian() * Float(sign: .plus, exponent: Int(g.next() % 61) - 30, significand: 1)
        }
    }

    /// Gaussian values: terms of like size, whose sums in two orders differ in their last bits.
    static func gaussian(_ count: Int, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return (0..<count).map { _ in g.gaussian() }
    }

    @Test("lanes take positions mod 8 and combine pairwise, not in sequence")
    func order() {
        var sum = LaneSum()
        // Lanes 2⁵³, 0, 1, 1: pairwise (2⁵³ + 0) + (1 + 1) = 2⁵³ + 2, while a sequential sum loses each 1 to
        // rounding (2⁵³ + 1 rounds to 2⁵³) and gives 2⁵³.
        sum.add(SIMD8<Double>(0x1p53, 0, 1, 1, 0, 0, 0, 0))
        #expect(sum.total == 0x1p53 + 2)
        let big: Double = 0x1p53
        let sequential = ((big + 0) + 1) + 1
        #expect(sequential == big)
        var vectors = LaneSum()
        var scalars = LaneSum()
        let terms = Self.spread(203, seed: 1).map(Double.init)
        for i in 0..<(terms.count / 8) {
            vectors.add(SIMD8<Double>(terms[(8 * i)..<(8 * i + 8)]))
        }
        for (p, t) in terms.enumerated() {
            if p >= terms.count / 8 * 8 { vectors.add(t, lane: p % 8) }
            scalars.add(t, lane: p % 8)
        }
        #expect(vectors.total == Self.laneOrder(terms))
        #expect(scalars.total == Self.laneOrder(terms))
        #expect(terms.reduce(0, +) != Self.laneOrder(terms), "the data must tell the orders apart")
    }

    @Test("the relative weight error sums in the lane order, tails of every length included")
    func relativeWeightError() {
        for count in 1000..<1016 {
            let a = Self.gaussian(count, seed: UInt64(count))
            // Unrelated values, so that every difference keeps all its bits.
            let b = Self.gaussian(count, seed: UInt64(count) + 1)
            let num = Self.laneOrder(
                zip(a, b).map { (x: Float, y: Float) -> Double in
                    let d = Double(x) - Double(y)
                    return d * d
                })
            let den = Self.laneOrder(a.map { (x: Float) -> Double in Double(x) * Double(x) })
            let sums = ErrorFigures.squaredNorms(original: a, quantized: b)
            #expect(sums.difference == num && sums.original == den, "\(count) values")
            #expect(ErrorFigures.relativeWeightError(original: a, quantized: b) == (num / den).squareRoot())
        }
        #expect(ErrorFigures.relativeWeightError(original: [0, 0], quantized: [0, 0]) == 0)
        #expect(ErrorFigures.relativeWeightError(original: [0, 0], quantized: [0, 1]) == .infinity)
    }

    @Test("the top share's total sums max(v, 0) in the lane order, tails of every length included")
    func topShareTotal() {
        for count in 1000..<1016 {
            // The top 1% is the 10 or 11 largest: powers of two, whose sum is exact in any order.
            let k = Int((0.01 * Double(count)).rounded(.up))
            var v = Self.gaussian(count - k, seed: UInt64(count)).map { $0 * $0 }
            v += (0..<k).map { Float(sign: .plus, exponent: 10 + $0, significand: 1) }
            v.swapAt(0, count - 1)
            v[3] = -5
            v[4] = -0.0
            let top = (0..<k).reduce(0.0) { $0 + Double(Float(sign: .plus, exponent: 10 + $1, significand: 1)) }
            let total = Self.laneOrder(v.map { Double(max($0, 0)) })
            #expect(ErrorFigures.topShare(v, fraction: 0.01) == top / total, "\(count) values")
        }
    }

    @Test("the proxy numerator's squared deltas sum live and dead columns by column lane, row by row")
    func proxyNumerator() throws {
        let rows = 7
        for n in 9..<25 {
            let w = Self.gaussian(rows * n, seed: UInt64(n))
            var g = SeededGenerator(seed: 5)
            let x = (0..<(40 * n)).map { _ in g.gaussian() }
            // Five input columns are never active: their Hessian rows and columns are zero. They sit in
            // several lanes, in full octets and in the tail.
            let inactive = [0, 3, 5, n - 2, n - 1]
            var h = [Float](repeating: 0, count: n * n)
            for i in 0..<n where !inactive.contains(i) {
                for j in 0..<n where !inactive.contains(j) {
                    h[i * n + j] = (0..<40).reduce(0) { $0 + x[$1 * n + i] * x[$1 * n + j] }
                }
            }
            let perm = Array((0..<n).reversed())
            let factor = try HessianFactor(
                hessian: Matrix(rows: n, cols: n, values: h), perm: perm, percdamp: 0.1, layer: "lanes")
            #expect(factor.dead.filter { $0 }.count == inactive.count)
            // Unrelated to W, so that every difference keeps all its bits.
            let q = Self.gaussian(rows * n, seed: UInt64(n) + 100)
            // Terms at their row-wise positions: row r, original column c at 32 r + c (rows start at lane 0).
            var live = [Double](repeating: 0, count: 32 * rows)
            var dead = [Double](repeating: 0, count: 32 * rows)
            for r in 0..<rows {
                for c in 0..<n {
                    let qc = Double(q[r * n + c])
                    let d = Double(w[r * n + c]) - qc
                    if inactive.contains(c) { dead[32 * r + c] = qc * qc } else { live[32 * r + c] = d * d }
                }
            }
            let sums = SpQR.squaredDeltas(original: w, quantized: q, rows: rows, factor: factor)
            #expect(sums.live == Self.laneOrder(live), "\(n) columns")
            #expect(sums.dead == Self.laneOrder(dead), "\(n) columns")
            let loss = 1e3
            #expect(
                SpQR.proxyNumerator(loss: loss, original: w, quantized: q, rows: rows, factor: factor)
                    == max(0, loss - Double(factor.lambda) * sums.live - sums.dead))
        }
    }
}
