// Bad input to the engine: each case gets a specific message, never a crash.

import SpQRTestSupport
import Testing

@testable import SpQRCore

@Suite("Bad input")
struct BadInputTests {
    static let ok = syntheticLayer(out: 16, in: 32, seed: 11)

    func message(_ body: () throws -> Void) -> String? {
        do { try body() } catch let e as SpQRError { return e.message } catch { return "\(error)" }
        return nil
    }

    func prepare(_ w: Matrix, _ h: Matrix, _ c: SpQRConfig = SpQRConfig()) throws {
        _ = try SpQR.run(try PreparedLayer(name: "blk.0.q", weights: w, hessian: h, config: c), config: c)
    }

    @Test func mismatchedShapes() {
        let m = message { try prepare(Self.ok.w, Matrix.identity(31)) }
        #expect(
            m?.contains("layer blk.0.q: the Hessian is 31x31 but the weight has 32 input columns") == true,
            "\(m ?? "no error")")
        let square = message { try prepare(Self.ok.w, Matrix(rows: 32, cols: 31)) }
        #expect(square?.contains("must be square") == true)
    }

    @Test func emptyMatrix() {
        let m = message { try prepare(Matrix(rows: 0, cols: 32), Matrix.identity(32)) }
        #expect(m?.contains("weight matrix is empty (0x32)") == true, "\(m ?? "no error")")
    }

    @Test func nonFiniteWeights() {
        var w = Self.ok.w
        w[3, 5] = .nan
        #expect(message { try prepare(w, Self.ok.h) }?.contains("weight holds nan at row 3, column 5") == true)
        w[3, 5] = .infinity
        #expect(message { try prepare(w, Self.ok.h) }?.contains("weight holds inf at row 3, column 5") == true)
    }

    @Test func nonFiniteHessian() {
        var h = Self.ok.h
        h[2, 7] = -.infinity
        #expect(message { try prepare(Self.ok.w, h) }?.contains("Hessian holds -inf at row 2, column 7") == true)
    }

    @Test func notPositiveDefinite() {
        // Rank-deficient H (fewer samples than inputs) with no damping cannot be factorised.
        var x = Matrix(rows: 4, cols: 32)
        var g = SeededGenerator(seed: 5)
        for k in x.values.indices { x.values[k] = g.gaussian() }
        let h = try! Hessian.fromActivations(x)
        var c = SpQRConfig()
        c.percdamp = 0
        let m = message { try prepare(Self.ok.w, h, c) }
        #expect(
            m?.contains("layer blk.0.q: the Hessian is not positive definite after damping with percdamp 0.0") == true,
            "\(m ?? "no error")")
        #expect(m?.contains("raise percdamp") == true)
        c.percdamp = 0.01
        #expect(message { try prepare(Self.ok.w, h, c) } == nil)
    }

    @Test func indefiniteZeroDiagonal() {
        var h = Matrix.identity(32)
        h[4, 4] = 0
        h[4, 9] = 0.5
        h[9, 4] = 0.5
        #expect(
            message { try prepare(Self.ok.w, h) }?.contains(
                "column 4 has a zero diagonal but a non-zero entry at (4, 9)") == true)
    }

    @Test(arguments: [0, 9, -1])
    func bitsOutOfRange(bits: Int) {
        var c = SpQRConfig()
        c.wbits = bits
        #expect(message { try prepare(Self.ok.w, Self.ok.h, c) } == "wbits must be between 1 and 8, got \(bits)")
    }

    @Test func groupsizeZero() {
        var c = SpQRConfig()
        c.groupsize = 0
        #expect(
            message { try prepare(Self.ok.w, Self.ok.h, c) }?.hasPrefix(
                "groupsize must be a positive number of columns") == true)
    }

    @Test func groupsizeLargerThanRow() throws {
        var c = SpQRConfig()
        c.groupsize = 64
        #expect(
            c.notes(inFeatures: 32) == [
                "groupsize 64 is larger than the layer's 32 input columns: one group per row is used"
            ])
        var none = SpQRConfig()
        none.groupsize = nil
        let p = try PreparedLayer(name: "x", weights: Self.ok.w, hessian: Self.ok.h, config: c)
        let a = try SpQR.run(p, config: c)
        let b = try SpQR.run(p, config: none)
        #expect(a.dequantized == b.dequantized)
        #expect(a.statistics.groupCount == 1)
    }

    @Test func negativeThresholdAndDamping() {
        var c = SpQRConfig()
        c.outlierThreshold = -0.1
        #expect(
            message { try c.validate() }?.hasPrefix("outlier_threshold must be a non-negative number or inf") == true)
        c = SpQRConfig()
        c.percdamp = -1
        #expect(message { try c.validate() }?.hasPrefix("percdamp must be a non-negative number") == true)
    }

    @Test("rows not divisible by qq_groupsize get a partial last block (an extension over the reference)")
    func partialSecondLevelBlock() throws {
        let l = syntheticLayer(out: 20, in: 32, seed: 2)
        let r = try SpQR.run(
            try PreparedLayer(name: "x", weights: l.w, hessian: l.h, config: SpQRConfig()), config: SpQRConfig())
        #expect(r.statistics.qqBlockCount == 2)
        #expect(r.statistics.qqScale.count == 2 * 2)
        #expect(r.dequantized.values.allSatisfy { $0.isFinite })
    }

    @Test("a single output row has no variance: τ is undefined and no outliers are kept")
    func singleRow() throws {
        let l = syntheticLayer(out: 1, in: 32, seed: 4)
        let r = try SpQR.run(
            try PreparedLayer(name: "x", weights: l.w, hessian: l.h, config: SpQRConfig()), config: SpQRConfig())
        #expect(r.figures.nOutliers == 0)
        #expect(r.figures.tau.isNaN)
    }
}
