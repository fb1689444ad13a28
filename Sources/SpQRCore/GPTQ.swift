// The GPTQ loop of SpQR with lazy block updates (SpQR Algorithm 1; reference `SPQRUtil.quantize`).
//
// For block starts b = 0, B, 2B, … and each column j of the block:
//     at group starts: fit the group statistics (leave-one-out outlier pre-pass, min–max, second level)
//     e_ij = (w_ij − Q(w_ij)) / d_j                 sensitivity s_ij = e_ij²
//     outlier ⇔ e_ij² > τ  (kept at w_ij, e_ij = 0), else w_ij ← Q(w_ij)
//     Wp[:, j+1:b+B] −= e_:j ⊗ U[j, j+1:b+B]
// then Wp[:, b+B:] −= E[:, block] · U[block, b+B:]      (one matrix product per block: nearly all flops)
//
// Given U, rows only meet through the second-level statistics (blocks of qq_groupsize rows) and, without
// perchannel, through shared group statistics. So each core takes a contiguous range of whole qq blocks
// and runs the entire loop on it, its own sgemm included: no barrier between blocks. Within a range the
// column work goes in chunks of about 64 rows so a chunk's block of weights stays in L1.

import Dispatch
import Foundation
import Synchronization

/// What one GPTQ run produces, in permuted column order.
struct GPTQOutput {
    /// Dequantized weights, outliers at their kept (error-updated) values.
    var q: [Float]
    /// Per-weight e² before the outlier decision.
    var sensitivity: [Float]
    /// Per-weight propagated e² (0 at outliers).
    var errorContribution: [Float]
    /// 1 where the weight is an outlier.
    var outliers: [UInt8]
    var statistics: GroupStatistics
    /// Σ e² over the run (the damped proxy loss), accumulated in Double.
    var proxyLoss: Double
    /// CPU seconds spent fitting group statistics (with the leave-one-out pass), summed over threads.
    var groupFitSeconds: Double
}

/// An array whose every element the caller writes before reading.
@inline(__always)
func uninitializedArray<T>(_ count: Int) -> [T] {
    [T](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
}

enum GPTQ {
    /// Runs GPTQ with SpQR outliers over `wp` (permuted, dead columns zeroed, row-major [rows, n]), which it
    /// consumes and quantizes in place.
    /// - Parameters:
    ///   - tau: absolute outlier threshold; `.infinity` disables outliers.
    static func run(wp: consuming [Float], rows: Int, factor: HessianFactor, config: SpQRConfig, tau: Float,
                    cancel: CancellationToken?, progress: ProgressHandler?) throws -> GPTQOutput {
        let n = factor.count
        let g = config.effectiveGroupsize(inFeatures: n)
        let blocksize = config.blocksize
        var w = consume wp
        var sens: [Float] = uninitializedArray(rows * n)
        var err: [Float] = uninitializedArray(rows * n)
        var mask: [UInt8] = uninitializedArray(rows * n)
        var e: [Float] = uninitializedArray(rows * blocksize)
        var stats = GroupStatistics(groupsize: g, inFeatures: n, rows: rows, qqGroupsize: config.qqGroupsize,
                                    qqScale: config.qqScaleBits != nil, qqZero: config.quantizesZeros)
        var scales = stats.scales, zeros = stats.zeros, qqScale = stats.qqScale, qqZero = stats.qqZero
        let useLOO = !config.simplifiedOutliers && tau != .infinity
        let detect = tau != .infinity
        // Chunks of whole second-level blocks; without perchannel all rows share statistics: one chunk.
        let align = (config.qqScaleBits != nil || config.quantizesZeros) ? config.qqGroupsize : 1
        let chunkRows = config.perchannel ? align * max(1, (64 + align - 1) / align) : rows
        let chunkCount = (rows + chunkRows - 1) / chunkRows
        let threads = max(1, min(ProcessInfo.processInfo.activeProcessorCount, chunkCount))
        let qqBlocks = stats.qqBlockCount
        let fitNanoseconds = Atomic<UInt64>(0)
        var losses = [Double](repeating: 0, count: threads)

        w.withUnsafeMutableBufferPointer { wBuf in
        sens.withUnsafeMutableBufferPointer { sBuf in
        err.withUnsafeMutableBufferPointer { eBuf in
        mask.withUnsafeMutableBufferPointer { mBuf in
        e.withUnsafeMutableBufferPointer { blockErr in
        scales.withUnsafeMutableBufferPointer { scBuf in
        zeros.withUnsafeMutableBufferPointer { zBuf in
        qqScale.withUnsafeMutableBufferPointer { qqsBuf in
        qqZero.withUnsafeMutableBufferPointer { qqzBuf in
        losses.withUnsafeMutableBufferPointer { lossBuf in
        factor.u.withUnsafeBufferPointer { uBuf in
        factor.d.withUnsafeBufferPointer { dBuf in
            let W = SharedPointer(wBuf.baseAddress!), S = SharedPointer(sBuf.baseAddress!)
            let ERR = SharedPointer(eBuf.baseAddress!), M = SharedPointer(mBuf.baseAddress!)
            let E = SharedPointer(blockErr.baseAddress!), LOSS = SharedPointer(lossBuf.baseAddress!)
            let SC = SharedPointer(scBuf.baseAddress!), Z = SharedPointer(zBuf.baseAddress!)
            let QQS = qqsBuf.baseAddress.map(SharedPointer.init), QQZ = qqzBuf.baseAddress.map(SharedPointer.init)
            let U = SharedPointer(UnsafeMutablePointer(mutating: uBuf.baseAddress!))
            let D = SharedPointer(UnsafeMutablePointer(mutating: dBuf.baseAddress!))
            let maxq = Float((1 << config.wbits) - 1)

            /// Fits the statistics of group [j0, j1) for rows [r0, r1).
            @Sendable func fitGroup(_ j0: Int, _ j1: Int, _ r0: Int, _ r1: Int,
                                    _ cand: UnsafeMutablePointer<Bool>, _ scratch: UnsafeMutablePointer<Float>,
                                    _ replaced: UnsafeMutablePointer<Float>) {
                let len = j1 - j0
                let gi = j0 / g
                let sc = SC.base + gi * rows, z = Z.base + gi * rows
                if config.perchannel {
                    for r in r0..<r1 {
                        let x = W.base + r * n + j0
                        var values = UnsafePointer(x)
                        if useLOO {
                            let count = LeaveOneOut.candidates(x: x, d: D.base + j0, g: len, bits: config.wbits, sym: config.sym,
                                                               tau: tau, candidate: cand, scratch: scratch)
                            if count > 0 {
                                var sum: Float = 0
                                for k in 0..<len where !cand[k] { sum += x[k] }
                                let mean = sum / Float(max(len - count, 1))
                                for k in 0..<len { replaced[k] = cand[k] ? mean : x[k] }
                                values = UnsafePointer(replaced)
                            }
                        }
                        let q = MinMaxQuantizer(fitting: UnsafeBufferPointer(start: values, count: len),
                                                bits: config.wbits, sym: config.sym, roundZero: config.roundZero)
                        sc[r] = q.scale
                        z[r] = q.zero
                    }
                } else {
                    var lo = Float.infinity, hi = -Float.infinity
                    for r in r0..<r1 {
                        let x = W.base + r * n + j0
                        for k in 0..<len { lo = min(lo, x[k]); hi = max(hi, x[k]) }
                    }
                    let q = MinMaxQuantizer(xmin: lo, xmax: hi, bits: config.wbits, sym: config.sym, roundZero: config.roundZero)
                    for r in r0..<r1 { sc[r] = q.scale; z[r] = q.zero }
                }
                // Second level over blocks of qq_groupsize rows (chunks hold whole blocks).
                var b0 = r0
                while b0 < r1 {
                    let b1 = min(b0 + config.qqGroupsize, r1)
                    let block = b0 / config.qqGroupsize
                    if let bits = config.qqScaleBits, let qqs = QQS {
                        qqs.base[gi * qqBlocks + block] = MinMaxQuantizer.quantizeBlock(
                            UnsafeMutableBufferPointer(start: sc + b0, count: b1 - b0), bits: bits, sym: false)
                    }
                    if config.quantizesZeros, let bits = config.qqZeroBits, let qqz = QQZ {
                        qqz.base[gi * qqBlocks + block] = MinMaxQuantizer.quantizeBlock(
                            UnsafeMutableBufferPointer(start: z + b0, count: b1 - b0), bits: bits, sym: config.qqZeroSym)
                    }
                    b0 = b1
                }
            }

            /// The column loop of block [b, blockEnd) for rows [r0, r1); returns Σ e² of those weights.
            @Sendable func columns(_ b: Int, _ blockEnd: Int, _ r0: Int, _ r1: Int, _ cand: UnsafeMutablePointer<Bool>,
                                   _ scratch: UnsafeMutablePointer<Float>, _ replaced: UnsafeMutablePointer<Float>) -> Double {
                var loss: Double = 0
                let sub = 32
                @inline(__always) func subEnd(_ j: Int) -> Int { min(b + ((j - b) / sub + 1) * sub, blockEnd) }
                for j in b..<blockEnd {
                    if j % g == 0 {
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        fitGroup(j, min(j + g, n), r0, r1, cand, scratch, replaced)
                        fitNanoseconds.add(DispatchTime.now().uptimeNanoseconds - t0, ordering: .relaxed)
                    }
                    let gi = j / g
                    let dj = D.base[j]
                    let urow = U.base + j * n
                    for r in r0..<r1 {
                        let row = W.base + r * n
                        let quant = MinMaxQuantizer(scale: SC.base[gi * rows + r], zero: Z.base[gi * rows + r], maxq: maxq)
                        let wv = row[j]
                        var qv = quant(wv)
                        var ev = (wv - qv) / dj
                        let sv = ev * ev
                        S.base[r * n + j] = sv
                        let isOutlier = detect && sv > tau
                        if isOutlier {
                            qv = wv
                            ev = 0
                        }
                        M.base[r * n + j] = isOutlier ? 1 : 0
                        row[j] = qv
                        E.base[r * blocksize + (j - b)] = ev
                        let contribution = ev * ev
                        ERR.base[r * n + j] = contribution
                        loss += Double(contribution)
                        if ev != 0 {
                            for c in (j + 1)..<max(subEnd(j), j + 1) { row[c] -= ev * urow[c] }
                        }
                    }
                    // At the end of a sub-block, its errors reach the rest of the block in one small product.
                    if j + 1 == subEnd(j) && j + 1 < blockEnd {
                        let s0 = j + 1 - ((j - b) % sub + 1)
                        BLAS.sgemm(m: r1 - r0, n: blockEnd - j - 1, k: j + 1 - s0, alpha: -1,
                                   a: E.base + r0 * blocksize + (s0 - b), lda: blocksize,
                                   b: U.base + s0 * n + j + 1, ldb: n,
                                   beta: 1, c: W.base + r0 * n + j + 1, ldc: n)
                    }
                }
                return loss
            }

            DispatchQueue.concurrentPerform(iterations: threads) { t in
                let c0 = t * chunkCount / threads, c1 = (t + 1) * chunkCount / threads
                let rStart = c0 * chunkRows, rEnd = min(c1 * chunkRows, rows)
                guard rStart < rEnd else { return }
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * g + 1) { tmp in
                    withUnsafeTemporaryAllocation(of: Bool.self, capacity: g + 1) { cand in
                        let scratch = tmp.baseAddress!, replaced = tmp.baseAddress! + g
                        var loss: Double = 0
                        var blockStart = 0
                        while blockStart < n {
                            if cancel?.isCancelled == true { break }
                            let blockEnd = min(blockStart + blocksize, n)
                            for chunk in c0..<c1 {
                                let r0 = chunk * chunkRows, r1 = min(r0 + chunkRows, rows)
                                loss += columns(blockStart, blockEnd, r0, r1, cand.baseAddress!, scratch, replaced)
                            }
                            BLAS.sgemm(m: rEnd - rStart, n: n - blockEnd, k: blockEnd - blockStart, alpha: -1,
                                       a: E.base + rStart * blocksize, lda: blocksize,
                                       b: U.base + blockStart * n + blockEnd, ldb: n,
                                       beta: 1, c: W.base + rStart * n + blockEnd, ldc: n)
                            if t == 0 { progress?(Double(blockEnd) / Double(n)) }
                            blockStart = blockEnd
                        }
                        LOSS.base[t] = loss
                    }
                }
            }
        } } } } } } } } } } } }
        try cancel?.check()
        stats.scales = scales
        stats.zeros = zeros
        stats.qqScale = qqScale
        stats.qqZero = qqZero
        return GPTQOutput(q: w, sensitivity: sens, errorContribution: err, outliers: mask, statistics: stats,
                          proxyLoss: losses.reduce(0, +),
                          groupFitSeconds: Double(fitNanoseconds.load(ordering: .relaxed)) / 1e9)
    }
}
