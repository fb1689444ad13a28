// The group fits of eight rows in SIMD lanes give the same bits as the scalar fit of each row.

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore

@Suite("Group fits in SIMD lanes")
struct GroupFitTests {
    /// Eight rows of `g` values built to hit the scalar fit's edge cases: ties at the minimum and maximum,
    /// flat rows, signed zeros, values on the rounding grid's half-way points and far outside it.
    static func rows(g: Int, seed: UInt64) -> [[Float]] {
        var random = SeededGenerator(seed: seed)
        return (0..<8).map { lane in
            (0..<g).map { k -> Float in
                let x = random.gaussian()
                switch lane {
                case 0: return 0.02 * x
                case 1: return Float((x * 2).rounded())  // ties at the extremes
                case 2: return 0.5  // flat row
                case 3: return k % 2 == 0 ? 0 : -0.0  // signed zeros only
                case 4: return (x * 4).rounded() / 2 + 0.25  // half-way points of a unit grid
                case 5: return k == g / 2 ? 3e4 * x : 1e-3 * x  // one loud value
                case 6: return x * 1e-30
                default: return k == 0 ? .infinity : x
                }
            }
        }
    }

    @Test(
        "eight rows in lanes fit the same scales and zeros as one row at a time",
        arguments: [1, 2, 3, 5, 16, 17, 64])
    func lanesMatchRows(g: Int) {
        let scratch = LeaveOneOutScratch(groupsize: g)
        defer { scratch.deallocate() }
        var random = SeededGenerator(seed: UInt64(g))
        let d = (0..<g).map { k in k == 1 ? Float(1e-4) : 0.05 + abs(random.gaussian()) }
        var compared = 0
        var withCandidates = 0
        for seed in 0..<6 {
            let rows = Self.rows(g: g, seed: UInt64(seed))
            var columns = [SIMD8<Float>](repeating: .zero, count: g)
            for k in 0..<g { for i in 0..<8 { columns[k][i] = rows[i][k] } }
            for bits in [2, 3, 4] {
                for sym in [false, true] {
                    for roundZero in [false, true] {
                        for tau: Float? in [nil, 0, 1e-3, 0.05, 1e6] {
                            let lanes = d.withUnsafeBufferPointer { dp in
                                GroupFit.lanes(
                                    x: columns, d: dp.baseAddress!, g: g, bits: bits, sym: sym, roundZero: roundZero,
                                    tau: tau,
                                    scratch)
                            }
                            for i in 0..<8 {
                                let one = rows[i].withUnsafeBufferPointer { xp in
                                    d.withUnsafeBufferPointer { dp in
                                        GroupFit.row(
                                            x: xp.baseAddress!, d: dp.baseAddress!, g: g, bits: bits, sym: sym,
                                            roundZero: roundZero, tau: tau, scratch)
                                    }
                                }
                                #expect(
                                    lanes.scale[i].bitPattern == one.scale.bitPattern
                                        && lanes.zero[i].bitPattern == one.zero.bitPattern,
                                    "g \(g) row \(i) bits \(bits) sym \(sym) rz \(roundZero) tau \(String(describing: tau)) values \(rows[i])"
                                )
                                compared += 1
                            }
                            if let tau {
                                let count = d.withUnsafeBufferPointer { dp in
                                    LeaveOneOut.candidateLanes(
                                        x: columns, d: dp.baseAddress!, g: g, bits: bits, sym: sym, tau: tau,
                                        candidate: scratch.candidateLanes, scratch: scratch.errorLanes)
                                }
                                withCandidates += (0..<8).filter { count[$0] > 0 }.count
                            }
                        }
                    }
                }
            }
        }
        #expect(compared == 6 * 12 * 5 * 8)
        // The candidates' replacement is exercised, not only the plain min–max fit.
        #expect(withCandidates > 100)
    }

    @Test("the lane quantizer dequantizes every value as the scalar quantizer does")
    func quantizerLanesMatch() {
        var random = SeededGenerator(seed: 11)
        let specials: [Float] = [0, -0.0, 0.5, 1.5, -2.5, 8_388_607.5, 8_388_609, -1e30, 1e-40, .infinity, -.infinity]
        for bits in [1, 2, 3, 4, 8] {
            for sym in [false, true] {
                for roundZero in [false, true] {
                    for _ in 0..<20 {
                        let lo = SIMD8<Float>((0..<8).map { i in i == 7 ? 0.25 : -abs(random.gaussian()) })
                        let hi = SIMD8<Float>(
                            (0..<8).map { i in i == 7 ? 0.25 : abs(random.gaussian()) * (i == 6 ? 1e-12 : 1) })
                        let lanes = MinMaxQuantizerLanes(xmin: lo, xmax: hi, bits: bits, sym: sym, roundZero: roundZero)
                        let x = SIMD8<Float>(
                            (0..<8).map { i in i < 2 ? specials.randomElement(using: &random)! : 3 * random.gaussian() }
                        )
                        let q = lanes(x)
                        for i in 0..<8 {
                            let one = MinMaxQuantizer(
                                xmin: lo[i], xmax: hi[i], bits: bits, sym: sym, roundZero: roundZero)
                            #expect(
                                lanes.scale[i].bitPattern == one.scale.bitPattern
                                    && lanes.zero[i].bitPattern == one.zero.bitPattern)
                            #expect(q[i].bitPattern == one(x[i]).bitPattern, "x \(x[i]) bits \(bits) sym \(sym)")
                        }
                    }
                }
            }
        }
    }
}

@Suite("GPTQ column sweep in SIMD lanes")
struct ColumnSweepLanesTests {
    /// One block of 32 columns: every update is a rank-1 update, no matrix product runs (the products'
    /// summation order depends on how many rows they cover, which would hide what this test compares).
    @Test("a whole layer (eight rows per vector) gives each row the bits it gets quantized alone (one row)")
    func layerMatchesRowsAlone() throws {
        let out = 44
        let n = 32
        let layer = syntheticLayer(out: out, in: n, seed: 13)
        var config = SpQRConfig()
        config.blocksize = 32
        // Rows meet only through second-level statistics; without them each row can be quantized alone.
        config.qqScaleBits = nil
        config.qqZeroBits = nil
        for outlierThreshold in [0.2, .infinity] {
            config.outlierThreshold = outlierThreshold
            let prepared = try PreparedLayer(name: "p", weights: layer.w, hessian: layer.h, config: config)
            let full = try SpQR.run(prepared, config: config)
            #expect(outlierThreshold.isInfinite || full.figures.nOutliers > 0)
            for r in 0..<out {
                let alone = try SpQR.run(prepared, config: config, rows: [r])
                let span = (r * n)..<((r + 1) * n)
                #expect(alone.dequantized.values.map(\.bitPattern) == full.dequantized.values[span].map(\.bitPattern))
                #expect(alone.sensitivity.map(\.bitPattern) == full.sensitivity[span].map(\.bitPattern))
                #expect(alone.errorContribution.map(\.bitPattern) == full.errorContribution[span].map(\.bitPattern))
                #expect(alone.outlierMask == Array(full.outlierMask[span]))
                for g in 0..<(n / 16) {
                    #expect(alone.statistics.scales[g].bitPattern == full.statistics.scales[g * out + r].bitPattern)
                    #expect(alone.statistics.zeros[g].bitPattern == full.statistics.zeros[g * out + r].bitPattern)
                }
            }
        }
    }

    @Test("the rank-1 update of eight rows rounds every lane as w −= e · u does, and skips lanes with e = 0")
    func rankOneUpdateMatchesScalar() {
        var random = SeededGenerator(seed: 17)
        let u = (0..<40).map { _ in random.gaussian() }
        let ld = 11
        // All lanes nonzero, some zero (lane 0 +0, lane 3 −0), all zero. Lanes 0 and 3 of w hold −0, where
        // w − e · u would give +0 whenever e · u is −0, so a lane not skipped is seen.
        let patterns: [[Float]] = [
            (0..<8).map { _ in random.gaussian() * 1e-3 },
            (0..<8).map { l in l % 3 == 0 ? (l % 2 == 0 ? 0 : -0.0) : random.gaussian() * 1e-3 },
            [Float](repeating: 0, count: 8),
        ]
        for e in patterns {
            for columns in [0..<0, 0..<1, 2..<9, 5..<36] {
                var panel = (0..<(40 * ld)).map { k in k % ld == 1 || k % ld == 4 ? -0.0 : random.gaussian() * 0.05 }
                var expected = panel
                for c in columns {
                    for l in 0..<8 where e[l] != 0 { expected[c * ld + 1 + l] -= e[l] * u[c] }
                }
                u.withUnsafeBufferPointer { up in
                    panel.withUnsafeMutableBufferPointer { p in
                        GPTQPass.subtract(
                            SIMD8(e), times: up.baseAddress!, from: p.baseAddress! + 1, ld: ld, columns: columns)
                    }
                }
                #expect(panel.map(\.bitPattern) == expected.map(\.bitPattern), "e \(e) columns \(columns)")
            }
        }
    }
}
