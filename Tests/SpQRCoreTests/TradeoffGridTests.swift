// The trade-off grid: SpQR points for the menu's settings with outliers, GPTQ and round-to-nearest points
// for its settings without, every point the same figures as the pipeline's own runs, one factorisation.

import SpQRTestSupport
import Testing

@testable import SpQRCore

@Suite("Trade-off grid")
struct TradeoffGridTests {
    static func layer() -> (LayerMeasurement, Matrix) {
        var g = SeededGenerator(seed: 7)
        var w = Matrix(rows: 32, cols: 64)
        for k in w.values.indices { w.values[k] = Float(Double(g.next() >> 11) / Double(1 << 53)) - 0.5 }
        var x = Matrix(rows: 64, cols: 64)
        for k in x.values.indices { x.values[k] = Float(Double(g.next() >> 11) / Double(1 << 53)) - 0.5 }
        // H = XᵀX + I: positive definite and not the identity, so GPTQ and RTN differ.
        var h = Matrix(rows: 64, cols: 64)
        for i in 0..<64 {
            for j in 0..<64 {
                var s: Float = i == j ? 1 : 0
                for k in 0..<64 { s += x.values[k * 64 + i] * x.values[k * 64 + j] }
                h.values[i * 64 + j] = s
            }
        }
        return (LayerMeasurement(name: "w", weights: w, hessian: h), w)
    }

    @Test("the standard menu gives 24 SpQR, 24 GPTQ and 24 RTN candidates around the base settings")
    func candidates() throws {
        var base = SpQRConfig()
        base.qqScaleBits = 4
        let c = try TradeoffGrid.candidates(around: base)
        #expect(c.count == 72)
        for m in TradeoffMethod.allCases { #expect(c.filter { $0.method == m }.count == 24) }
        #expect(c.allSatisfy { $0.config.qqScaleBits == 4 })
        #expect(c.filter { $0.method == .spqr }.allSatisfy { $0.config.outlierThreshold == 0.2 })
        #expect(c.filter { $0.method != .spqr }.allSatisfy { !$0.config.outlierThreshold.isFinite })
    }

    @Test("every point is the pipeline's own figure, measured with one factorisation")
    func measure() throws {
        let (m, _) = Self.layer()
        let menu = try SettingsMenu.parse("wbits=3,4;outlier_threshold=0.2,off")
        let candidates = try TradeoffGrid.candidates(around: SpQRConfig(), menu: menu)
        var points = [TradeoffPoint?](repeating: nil, count: candidates.count)
        try TradeoffGrid.measure(candidates, on: m) { i, p in
            #expect(points[i] == nil, "point \(i) reported twice")
            points[i] = p
        }
        #expect(m.factorisations == 1)
        let p = try m.prepare(for: SpQRConfig())
        for (i, point) in points.enumerated() {
            let c = candidates[i]
            let point = try #require(point)
            #expect(point.candidate == c)
            let expected: (Double, Double)
            switch c.method {
            case .spqr, .gptq:
                let f = try SpQR.run(p, config: c.config).figures
                expected = (f.avgBits, f.relProxyError)
            case .rtn:
                let f = try SpQR.roundToNearestFigures(p, config: c.config)
                expected = (f.avgBits, f.relProxyError)
            }
            #expect(point.avgBits == expected.0)
            #expect(abs(point.relProxyError - expected.1) <= 1e-12 * expected.1, "\(c.method) \(i)")
        }
        // GPTQ's error feedback beats round-to-nearest at the same settings and bits on this H.
        for i in candidates.indices where candidates[i].method == .gptq {
            let rtn = points[i + 1]!
            #expect(rtn.candidate.method == .rtn && rtn.avgBits == points[i]!.avgBits)
            #expect(points[i]!.relProxyError < rtn.relProxyError)
        }
    }

    @Test("a cancelled measurement stops with the cancellation error")
    func cancel() throws {
        let (m, _) = Self.layer()
        let token = CancellationToken()
        token.cancel()
        #expect(throws: SpQRError.self) {
            try TradeoffGrid.measure(try TradeoffGrid.candidates(around: SpQRConfig()), on: m, cancel: token) { _, _ in
            }
        }
    }
}
