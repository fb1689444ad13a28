// Properties of the SpQR engine that hold for any input (reference notes §10 and the GPTQ derivation).

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore

@Suite("SpQR properties")
struct PropertyTests {
    static let layer = syntheticLayer(out: 48, in: 96)

    static func prepared(_ c: SpQRConfig = SpQRConfig(), h: Matrix? = nil) throws -> PreparedLayer {
        try PreparedLayer(name: "synthetic", weights: layer.w, hessian: h ?? layer.h, config: c)
    }

    @Test(
        "Σ e² equals the damped proxy loss tr(ΔWp Hd ΔWpᵀ)",
        arguments: [PermutationOrder.identity, .actOrder, .spearman])
    func errorMapSumsToDampedLoss(order: PermutationOrder) throws {
        var c = SpQRConfig()
        c.permutationOrder = order
        c.percdamp = 0.1
        let p = try Self.prepared(c)
        let r = try SpQR.run(p, config: c)
        let n = p.weights.cols
        let m = p.weights.rows
        // Hd in permuted order, dead diagonals 1.
        let perm = p.factor.perm
        var hd = Matrix(rows: n, cols: n)
        for i in 0..<n { for j in 0..<n { hd[i, j] = p.hessian[perm[i], perm[j]] } }
        for j in 0..<n { hd[j, j] = p.factor.dead[j] ? 1 : hd[j, j] + p.factor.lambda }
        let qp = r.dequantized.permutingColumns(perm).values
        var delta = p.permutedWeights(rows: nil)
        for k in delta.indices { delta[k] -= qp[k] }
        let direct = quadraticTrace(delta, rows: m, hd)
        let mapSum = r.errorContribution.reduce(0.0) { $0 + Double($1) }
        #expect(abs(mapSum - direct) <= 1e-4 * direct, "Σ e² \(mapSum) vs tr \(direct)")
        #expect(abs(r.proxyLoss - mapSum) <= 1e-9 * mapSum)
    }

    @Test("relative proxy error from the identity equals the direct tr(ΔW H ΔWᵀ) / tr(W H Wᵀ)")
    func proxyErrorIdentity() throws {
        let p = try Self.prepared()
        let r = try SpQR.run(p, config: SpQRConfig())
        var delta = p.weights.values
        for k in delta.indices { delta[k] -= r.dequantized.values[k] }
        let direct =
            quadraticTrace(delta, rows: p.weights.rows, p.hessian)
            / quadraticTrace(p.weights.values, rows: p.weights.rows, p.hessian)
        #expect(abs(r.figures.relProxyError - direct) <= 1e-4 * direct, "\(r.figures.relProxyError) vs \(direct)")
    }

    @Test("Uᵀ U is the inverse of the damped Hessian")
    func factorInvertsHessian() throws {
        let p = try Self.prepared()
        let n = p.weights.cols
        let perm = p.factor.perm
        let u = p.factor.u
        var maxError: Double = 0
        for i in 0..<n {
            for j in 0..<n {
                // (Hd · Uᵀ U)[i, j]
                var acc = 0.0
                for k in 0..<n {
                    var hd = Double(p.hessian[perm[i], perm[k]])
                    if i == k { hd = p.factor.dead[i] ? 1 : hd + Double(p.factor.lambda) }
                    if hd == 0 { continue }
                    var utu = 0.0
                    for l in 0...min(k, j) { utu += Double(u[l * n + k]) * Double(u[l * n + j]) }
                    acc += hd * utu
                }
                maxError = max(maxError, abs(acc - (i == j ? 1 : 0)))
            }
        }
        #expect(maxError < 1e-3, "max |Hd·UᵀU − I| = \(maxError)")
        for i in 0..<n { for j in 0..<i { #expect(u[i * n + j] == 0) } }
    }

    @Test("weights inside the range dequantize within scale/2", arguments: [2, 3, 4, 8])
    func roundingErrorBound(bits: Int) {
        var g = SeededGenerator(seed: UInt64(bits))
        for _ in 0..<200 {
            let values = (0..<16).map { _ in g.gaussian() * 3 }
            let q = values.withUnsafeBufferPointer {
                MinMaxQuantizer(fitting: $0, bits: bits, sym: false, roundZero: false)
            }
            for v in values {
                #expect(abs(q(v) - v) <= q.scale / 2 * (1 + 1e-5) + 1e-6, "value \(v) scale \(q.scale)")
            }
        }
    }

    @Test("outlier_threshold off gives no outliers")
    func thresholdOff() throws {
        var c = SpQRConfig()
        c.outlierThreshold = .infinity
        let r = try SpQR.run(try Self.prepared(c), config: c)
        #expect(r.figures.nOutliers == 0)
        #expect(r.outlierMask.allSatisfy { $0 == 0 })
        #expect(r.figures.tau == .infinity)
    }

    @Test("a higher threshold never gives more outliers")
    func thresholdMonotone() throws {
        let p = try Self.prepared()
        var previous = Int.max
        for t in [0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0] {
            var c = SpQRConfig()
            c.outlierThreshold = t
            let n = try SpQR.run(p, config: c).figures.nOutliers
            #expect(n <= previous, "threshold \(t): \(n) outliers, more than \(previous) at the lower threshold")
            previous = n
        }
        #expect(previous < 5)
    }

    @Test("scaling H leaves the result unchanged")
    func hessianScaleInvariance() throws {
        let base = try SpQR.run(try Self.prepared(), config: SpQRConfig())
        var h = Self.layer.h
        for k in h.values.indices { h.values[k] *= 64 }
        let scaled = try SpQR.run(try Self.prepared(h: h), config: SpQRConfig())
        #expect(base.outlierMask == scaled.outlierMask)
        let maxW = Self.layer.w.values.map { abs($0) }.max()!
        let same = zip(base.dequantized.values, scaled.dequantized.values).filter { abs($0 - $1) <= 1e-5 * maxW }.count
        #expect(Double(same) >= 0.999 * Double(base.dequantized.values.count))
        #expect(abs(base.figures.relProxyError - scaled.figures.relProxyError) <= 1e-3 * base.figures.relProxyError)
    }

    @Test("any blocksize that the group size divides gives the same result", arguments: [16, 32, 48, 96, 128])
    func blocksizeInvariance(blocksize: Int) throws {
        let reference = try SpQR.run(try Self.prepared(), config: SpQRConfig())
        var c = SpQRConfig()
        c.blocksize = blocksize
        let r = try SpQR.run(try Self.prepared(c), config: c)
        let maxW = Self.layer.w.values.map { abs($0) }.max()!
        let same = zip(reference.dequantized.values, r.dequantized.values).filter { abs($0 - $1) <= 1e-5 * maxW }.count
        #expect(
            Double(same) >= 0.995 * Double(r.dequantized.values.count), "\(same) of \(r.dequantized.values.count) equal"
        )
        #expect(abs(r.figures.nOutliers - reference.figures.nOutliers) <= 2)
    }

    @Test("a preview of whole second-level blocks reproduces the full run on those rows")
    func previewMatchesFull() throws {
        let w = syntheticLayer(out: 160, in: 64, seed: 7)
        let p = try PreparedLayer(name: "p", weights: w.w, hessian: w.h, config: SpQRConfig())
        let rows = SpQR.previewRows(outFeatures: 160, config: SpQRConfig(), targetRows: 48)
        #expect(rows.count == 48 && rows.count % 16 == 0)
        let full = try SpQR.run(p, config: SpQRConfig())
        let preview = try SpQR.run(p, config: SpQRConfig(), rows: rows)
        #expect(preview.isPreview && !full.isPreview)
        let n = 64
        for (k, r) in rows.enumerated() {
            for c in 0..<n {
                #expect(abs(preview.dequantized.values[k * n + c] - full.dequantized.values[r * n + c]) <= 1e-6)
                #expect(preview.outlierMask[k * n + c] == full.outlierMask[r * n + c])
            }
        }
    }

    @Test("the top-1% share equals a sort-based computation")
    func topShare() {
        var g = SeededGenerator(seed: 3)
        let v = (0..<10_007).map { _ -> Float in
            let x = g.gaussian()
            return x * x * x * x
        }
        let sorted = v.sorted(by: >)
        let k = Int((0.01 * Double(v.count)).rounded(.up))
        let expected = sorted.prefix(k).reduce(0.0) { $0 + Double($1) } / v.reduce(0.0) { $0 + Double($1) }
        #expect(abs(ErrorFigures.topShare(v, fraction: 0.01) - expected) <= 1e-9)
        #expect(ErrorFigures.topShare([Float](repeating: 0, count: 10), fraction: 0.01) == 0)
        #expect(abs(ErrorFigures.topShare([1, 1, 1, 1], fraction: 0.01) - 0.25) < 1e-12)
    }

    @Test("H from activations is 2XᵀX/n")
    func hessianFromActivations() throws {
        let x = Matrix(rows: 2, cols: 2, values: [1, 2, 3, 4])
        let h = try Hessian.fromActivations(x)
        #expect(h.values == [10, 14, 14, 20])
    }

    @Test("the README recipes cost 3.625 and 4.625 bits before outliers")
    func readmeBits() {
        #expect(BitCost.referenceAverageBits(.readme3bit, outlierShare: 0) == 3.625)
        #expect(BitCost.referenceAverageBits(.readme4bit, outlierShare: 0) == 4.625)
        #expect(BitCost.referenceAverageBits(.readme4bit, outlierShare: 0.01) == 4.625 + 0.32)
    }

    @Test("exact storage counts codes, statistics, second level, permutation and CSR outliers")
    func storage() {
        let s = BitCost.storage(.readme3bit, rows: 64, cols: 128, outliers: 10)
        #expect(s.codes == 3 * 64 * 128)
        #expect(s.statistics == 8 * 64 * (3 + 3))
        #expect(s.secondLevel == 8 * 4 * 2 * 32)
        #expect(s.permutation == 16 * 128)
        #expect(s.outliers == 32 * 10 + 32 * 64)
        #expect(BitCost.storage(.readme3bit, rows: 64, cols: 128, outliers: 0).outliers == 0)
    }

    @Test("round-to-nearest dequantizes onto the grid and is worse than GPTQ in proxy error")
    func baselines() throws {
        let p = try Self.prepared()
        let b = try SpQR.baselines(p, config: SpQRConfig())
        let r = try SpQR.run(p, config: SpQRConfig())
        #expect(b.rtn.relProxyError > b.gptq.relProxyError)
        #expect(b.gptq.relProxyError > r.figures.relProxyError)
        #expect(b.rtn.relWeightError > 0 && b.rtn.relWeightError < 1)
        #expect(b.rtn.avgBits == 3.625)
    }

    @Test("a cancelled token stops the run")
    func cancellation() throws {
        let token = CancellationToken()
        token.cancel()
        #expect(throws: SpQRError.cancelled) { try SpQR.run(try Self.prepared(), config: SpQRConfig(), cancel: token) }
    }
}

@Suite("BLAS thread mode")
struct BLASModeTests {
    @Test("a layer quantized while another is factorised on all cores gives the same bits as on its own")
    func concurrentPreparationsDoNotChangeResults() throws {
        // 128×256: its sgemm calls are large enough that a threaded OpenBLAS would sum them differently.
        let small = syntheticLayer(out: 128, in: 256, seed: 11)
        let big = syntheticLayer(out: 64, in: 768, samples: 800, seed: 12)
        let config = SpQRConfig()
        func measure() throws -> (SpQRResult, Baselines) {
            let p = try PreparedLayer(name: "small", weights: small.w, hessian: small.h, config: config)
            return (try SpQR.run(p, config: config), try SpQR.baselines(p, config: config))
        }
        let (alone, aloneBaselines) = try measure()
        let stop = CancellationToken()
        let factorisations = Locked(0)
        let background = Thread {
            while !stop.isCancelled {
                _ = try? PreparedLayer(name: "big", weights: big.w, hessian: big.h, config: config)
                factorisations.withLock { $0 += 1 }
            }
        }
        background.start()
        defer { stop.cancel() }
        for _ in 0..<6 {
            let (r, b) = try measure()
            #expect(r.dequantized == alone.dequantized && r.outlierMask == alone.outlierMask)
            #expect(r.figures == alone.figures && b == aloneBaselines)
        }
        stop.cancel()
        #expect(factorisations.withLock { $0 } > 0, "the background factorisations never ran")
    }
}
