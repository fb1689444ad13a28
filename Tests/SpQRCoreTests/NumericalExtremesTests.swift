// Numerical extremes: every case either quantizes to finite figures or is refused with a clear message.

import Foundation
import Testing

@testable import SpQRCore

@Suite("Numerical extremes")
struct NumericalExtremesTests {
    /// Runs SpQR and the baselines; returns the figures or the message.
    static func attempt(_ w: Matrix, _ h: Matrix, _ c: SpQRConfig = SpQRConfig()) -> Result<LayerFigures, SpQRError> {
        do {
            let p = try PreparedLayer(name: "x", weights: w, hessian: h, config: c)
            let r = try SpQR.run(p, config: c)
            _ = try SpQR.baselines(p, config: c)
            return .success(r.figures)
        } catch let e as SpQRError {
            return .failure(e)
        } catch {
            return .failure(SpQRError(.unsupported, "\(error)"))
        }
    }

    static func finite(_ f: LayerFigures) -> Bool {
        f.avgBits.isFinite && f.relWeightError.isFinite && f.relProxyError.isFinite
            && f.sensitivityConcentration.isFinite && f.errorConcentration.isFinite
    }

    @Test("all-zero weights: τ is 0, so (as in the reference) every weight with a rounding error is kept exactly")
    func zeros() throws {
        let f = try Self.attempt(Matrix(rows: 32, cols: 64), Hessian.identity(64)).get()
        #expect(f.tau == 0)
        // The constant group gets the reference's (−1, +1) range, whose fractional zero point does not
        // reproduce 0, so every weight has e² > 0 = τ.
        #expect(f.nOutliers == 32 * 64)
        #expect(f.relWeightError == 0 && f.relProxyError == 0)
        var off = SpQRConfig()
        off.outlierThreshold = .infinity
        let g = try Self.attempt(Matrix(rows: 32, cols: 64), Hessian.identity(64), off).get()
        // Without outliers Q is the (−1, +1) grid's nearest value, not 0: its error relative to a zero
        // matrix is infinite, and says so.
        #expect(g.nOutliers == 0 && g.relWeightError == .infinity)
    }

    @Test("constant rows and columns")
    func constants() throws {
        var w = syntheticLayer(out: 32, in: 64, seed: 5).w
        for c in 0..<64 { w[3, c] = 0.25 }
        for r in 0..<32 { w[r, 7] = -0.5 }
        let f = try Self.attempt(w, syntheticLayer(out: 32, in: 64, seed: 5).h).get()
        #expect(Self.finite(f))
    }

    @Test("denormal and huge magnitudes", arguments: [Float(1e-40), 1e-30, 1e15, 1e30])
    func magnitudes(scale: Float) throws {
        var w = syntheticLayer(out: 32, in: 64, seed: 6).w
        for k in w.values.indices { w.values[k] *= scale / 0.02 }
        switch Self.attempt(w, syntheticLayer(out: 32, in: 64, seed: 6).h) {
        case .success(let f):
            #expect(Self.finite(f), "scale \(scale): \(f)")
        case .failure(let e):
            #expect(
                scale > 1e20 && e.message.hasPrefix("layer x: the error figures overflow float32"),
                "scale \(scale): \(e.message)")
        }
    }

    @Test("tiny shapes", arguments: [(1, 1), (1, 17), (17, 1), (2, 3), (3, 2)])
    func shapes(out: Int, inp: Int) throws {
        let l = syntheticLayer(out: out, in: inp, seed: UInt64(out * 100 + inp))
        for order in PermutationOrder.allCases {
            var c = SpQRConfig()
            c.permutationOrder = order
            let f = try Self.attempt(l.w, l.h, c).get()
            #expect(f.avgBits.isFinite && f.relWeightError.isFinite, "\(out)x\(inp) \(order)")
        }
    }

    @Test("a singular Hessian needs damping; an indefinite one is refused")
    func hessians() throws {
        let l = syntheticLayer(out: 16, in: 32, seed: 8)
        var singular = Matrix(rows: 32, cols: 32, repeating: 1)  // rank one, positive diagonal
        var c = SpQRConfig()
        c.percdamp = 0
        guard case .failure(let e) = Self.attempt(l.w, singular, c) else {
            Issue.record("rank-one H without damping accepted")
            return
        }
        #expect(e.message.contains("raise percdamp"))
        c.percdamp = 0.01
        #expect((try? Self.attempt(l.w, singular, c).get()) != nil)
        for i in 0..<32 {
            singular[i, i] = 1
            if i > 0 {
                singular[i, i - 1] = -3
                singular[i - 1, i] = -3
            }
        }
        guard case .failure(let e2) = Self.attempt(l.w, singular, c) else {
            Issue.record("indefinite H accepted")
            return
        }
        #expect(e2.kind == .notPositiveDefinite)
    }
}
