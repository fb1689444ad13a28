// The GPTQ loop of SpQR with lazy block updates (SpQR Algorithm 1; reference `SPQRUtil.quantize`).
//
// For block starts b = 0, B, 2B, … and each column j of the block:
//     at group starts: fit the group statistics (leave-one-out outlier pre-pass, min–max, second level)
//     e_ij = (w_ij − Q(w_ij)) / d_j                 sensitivity s_ij = e_ij²
//     outlier ⇔ e_ij² > τ  (kept at w_ij, e_ij = 0), else w_ij ← Q(w_ij)
//     Wp[:, j+1:b+B] −= e_:j ⊗ U[j, j+1:b+B]
// then Wp[:, b+B:] −= E[:, block] · U[block, b+B:]      (one matrix product per block: nearly all flops)
//
// Rows only meet through the second-level statistics (blocks of qq_groupsize rows) and, without
// perchannel, through the shared group statistics; so the within-block work runs in parallel over chunks
// of whole qq blocks, and the trailing update is one sgemm.

import COpenBLAS
import Dispatch

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
}

enum GPTQ {
    /// Runs GPTQ with SpQR outliers over `wp` (permuted, dead columns zeroed, row-major [rows, n]).
    /// - Parameters:
    ///   - tau: absolute outlier threshold; `.infinity` disables outliers.
    static func run(wp: [Float], rows: Int, factor: HessianFactor, config: SpQRConfig, tau: Float,
                    cancel: CancellationToken?, progress: ProgressHandler?) throws -> GPTQOutput {
        let n = factor.count
        let g = config.effectiveGroupsize(inFeatures: n)
        let blocksize = config.blocksize
        var w = wp
        var sens = [Float](repeating: 0, count: rows * n)
        var err = [Float](repeating: 0, count: rows * n)
        var mask = [UInt8](repeating: 0, count: rows * n)
        var e = [Float](repeating: 0, count: rows * blocksize)
        var stats = GroupStatistics(groupsize: g, inFeatures: n, rows: rows, qqGroupsize: config.qqGroupsize,
                                    qqScale: config.qqScaleBits != nil, qqZero: config.quantizesZeros)
        var scales = stats.scales, zeros = stats.zeros, qqScale = stats.qqScale, qqZero = stats.qqZero
        let useLOO = tau.isFinite || tau.isNaN ? !config.simplifiedOutliers : false
        let detect = !(tau == .infinity)
        // Chunks of whole second-level blocks; without perchannel all rows share statistics: one chunk.
        let align = (config.qqScaleBits != nil || config.quantizesZeros) ? config.qqGroupsize : 1
        let chunkRows = config.perchannel ? align * max(1, (64 + align - 1) / align) : rows
        let chunkCount = (rows + chunkRows - 1) / chunkRows
        let qqBlocks = stats.qqBlockCount

        try w.withUnsafeMutableBufferPointer { wBuf in
            try sens.withUnsafeMutableBufferPointer { sBuf in
                try err.withUnsafeMutableBufferPointer { eBuf in
                    try mask.withUnsafeMutableBufferPointer { mBuf in
                        try e.withUnsafeMutableBufferPointer { blockErr in
                            try scales.withUnsafeMutableBufferPointer { scBuf in
                                try zeros.withUnsafeMutableBufferPointer { zBuf in
                                    try qqScale.withUnsafeMutableBufferPointer { qqsBuf in
                                        try qqZero.withUnsafeMutableBufferPointer { qqzBuf in
                                            try factor.u.withUnsafeBufferPointer { uBuf in
                                                try factor.d.withUnsafeBufferPointer { dBuf in
        let W = SharedPointer(wBuf.baseAddress!), S = SharedPointer(sBuf.baseAddress!)
        let ERR = SharedPointer(eBuf.baseAddress!), M = SharedPointer(mBuf.baseAddress!)
        let E = SharedPointer(blockErr.baseAddress!)
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

        var blockStart = 0
        while blockStart < n {
            let blockEnd = min(blockStart + blocksize, n)
            let b = blockStart
            DispatchQueue.concurrentPerform(iterations: chunkCount) { chunk in
                let r0 = chunk * chunkRows, r1 = min(r0 + chunkRows, rows)
                withUnsafeTemporaryAllocation(of: Float.self, capacity: 2 * g + 1) { tmp in
                    withUnsafeTemporaryAllocation(of: Bool.self, capacity: g + 1) { cand in
                        let scratch = tmp.baseAddress!, replaced = tmp.baseAddress! + g
                        for j in b..<blockEnd {
                            if j % g == 0 {
                                fitGroup(j, min(j + g, n), r0, r1, cand.baseAddress!, scratch, replaced)
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
                                if detect && sv > tau {
                                    qv = wv
                                    ev = 0
                                    M.base[r * n + j] = 1
                                }
                                row[j] = qv
                                E.base[r * blocksize + (j - b)] = ev
                                ERR.base[r * n + j] = ev * ev
                                if ev != 0 {
                                    for c in (j + 1)..<max(blockEnd, j + 1) { row[c] -= ev * urow[c] }
                                }
                            }
                        }
                    }
                }
            }
            if blockEnd < n {
                cblas_sgemm(Int32(SpQRCblasRowMajor.rawValue), Int32(SpQRCblasNoTrans.rawValue), Int32(SpQRCblasNoTrans.rawValue),
                            Int32(rows), Int32(n - blockEnd), Int32(blockEnd - blockStart), -1,
                            E.base, Int32(blocksize), U.base + blockStart * n + blockEnd, Int32(n),
                            1, W.base + blockEnd, Int32(n))
            }
            progress?(Double(blockEnd) / Double(n))
            try cancel?.check()
            blockStart = blockEnd
        }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        stats.scales = scales
        stats.zeros = zeros
        stats.qqScale = qqScale
        stats.qqZero = qqZero
        var loss: Double = 0
        err.withUnsafeBufferPointer { p in
            var acc: Double = 0
            for v in p { acc += Double(v) }
            loss = acc
        }
        return GPTQOutput(q: w, sensitivity: sens, errorContribution: err, outliers: mask, statistics: stats, proxyLoss: loss)
    }
}
