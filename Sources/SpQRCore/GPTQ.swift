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
// column work goes in chunks of about 64 rows, each copied for the block into a contiguous column-major
// panel (GPTQPanel.swift) that the caches hold whole. The per-weight steps, the rank-1 updates and the group
// fits take eight rows of a column per SIMD vector, each lane doing the scalar steps in their order
// (MinMaxQuantizerLanes.swift, GroupFit.swift), so the results are the same bits as one row at a time.
//
// `GPTQ.run` splits the rows over the cores, `GPTQPass.quantize` is the loop over blocks above,
// `quantizeColumns` the per-column steps and `fitGroup` the group statistics; `GPTQBuffers` names the
// arrays they share.
// One concept (the loop, its steps and its buffers) kept together, hence over 400 lines.

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
    /// Rows per chunk of the column loop: 64 rows of a 128-column block are 32 KiB of weights, the L1 data
    /// cache of a core, so the per-column work and its rank-1 updates run from L1.
    static let rowsPerChunk = 64
    /// Columns per sub-block: inside one, a column's errors reach the next columns by rank-1 updates (few
    /// columns, so cheap and in cache); at its end one small sgemm carries the sub-block's errors to the
    /// rest of the block, which keeps the rank-1 work from growing with the block size.
    static let rankOneColumns = 32

    /// Runs GPTQ with SpQR outliers over `wp` (permuted, dead columns zeroed, row-major [rows, n]), which it
    /// consumes and quantizes in place.
    /// - Parameters:
    ///   - tau: absolute outlier threshold; `.infinity` disables outliers.
    static func run(
        wp: consuming [Float], rows: Int, factor: HessianFactor, config: SpQRConfig, tau: Float,
        cancel: CancellationToken?, progress: ProgressHandler?
    ) throws -> GPTQOutput {
        let n = factor.count
        var output = GPTQOutput(
            q: consume wp, sensitivity: uninitializedArray(rows * n), errorContribution: uninitializedArray(rows * n),
            outliers: uninitializedArray(rows * n),
            statistics: GroupStatistics(
                groupsize: config.effectiveGroupsize(inFeatures: n), inFeatures: n, rows: rows,
                qqGroupsize: config.qqGroupsize, qqScale: config.qqScaleBits != nil,
                qqZero: config.quantizesZeros),
            proxyLoss: 0, groupFitSeconds: 0)
        // Chunks of whole second-level blocks; without perchannel all rows share statistics: one chunk.
        let align = (config.qqScaleBits != nil || config.quantizesZeros) ? config.qqGroupsize : 1
        let chunkRows = config.perchannel ? align * max(1, (rowsPerChunk + align - 1) / align) : rows
        let chunkCount = (rows + chunkRows - 1) / chunkRows
        let threads = max(1, min(ProcessInfo.processInfo.activeProcessorCount, chunkCount))
        let blockErrors = UnsafeMutableBufferPointer<Float>.allocate(capacity: rows * config.blocksize)
        let losses = UnsafeMutableBufferPointer<Double>.allocate(capacity: threads)
        losses.initialize(repeating: 0)
        defer {
            blockErrors.deallocate()
            losses.deallocate()
        }

        let lossOfWorker = SharedPointer(losses.baseAddress!)
        let fitNanoseconds = GPTQBuffers.pinning(&output, factor: factor, blockErrors: blockErrors) { buffers in
            let pass = GPTQPass(buffers, config: config, rows: rows, n: n, tau: tau)
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                // Worker t takes chunks [c0, c1): a contiguous range of rows.
                let c0 = t * chunkCount / threads
                let c1 = (t + 1) * chunkCount / threads
                let chunks = (c0..<c1).map { c in (c * chunkRows)..<min((c + 1) * chunkRows, rows) }
                guard !chunks.isEmpty else { return }
                lossOfWorker.base[t] = pass.quantize(chunks: chunks, cancel: cancel, progress: t == 0 ? progress : nil)
            }
            return pass.fitNanoseconds.load(ordering: .relaxed)
        }
        try cancel?.check()
        output.proxyLoss = losses.reduce(0, +)
        output.groupFitSeconds = Double(fitNanoseconds) / 1e9
        return output
    }
}

/// The arrays of one run as raw pointers shared by the worker threads, which write disjoint rows.
struct GPTQBuffers: @unchecked Sendable {
    /// Wp [rows, n], quantized in place.
    let weights: UnsafeMutablePointer<Float>
    /// e² before the outlier decision, e² after it, and the outlier flags, each [rows, n].
    let sensitivity: UnsafeMutablePointer<Float>
    let errorContribution: UnsafeMutablePointer<Float>
    let outliers: UnsafeMutablePointer<UInt8>
    /// Eᵀ [blocksize, rows]: the errors e of the current block, kept for the updates of later columns;
    /// column j's errors are consecutive, as the sweep produces them (eight rows per vector).
    let blockErrors: UnsafeMutablePointer<Float>
    /// Scales and zeros [group · rows + row]; second-level quantizers [group · qqBlocks + block] or nil.
    let scales: UnsafeMutablePointer<Float>
    let zeros: UnsafeMutablePointer<Float>
    let qqScale: UnsafeMutablePointer<MinMaxQuantizer>?
    let qqZero: UnsafeMutablePointer<MinMaxQuantizer>?
    /// U [n, n] (row j holds the updates of column j's error) and d_j = U[j, j].
    let u: UnsafePointer<Float>
    let d: UnsafePointer<Float>

    /// Calls `body` with the storage of `output`'s arrays and of the factor, pinned for its duration.
    static func pinning<R>(
        _ output: inout GPTQOutput, factor: HessianFactor, blockErrors: UnsafeMutableBufferPointer<Float>,
        _ body: (GPTQBuffers) -> R
    ) -> R {
        output.q.withUnsafeMutableBufferPointer { w in
            output.sensitivity.withUnsafeMutableBufferPointer { s in
                output.errorContribution.withUnsafeMutableBufferPointer { e in
                    output.outliers.withUnsafeMutableBufferPointer { m in
                        output.statistics.scales.withUnsafeMutableBufferPointer { scales in
                            output.statistics.zeros.withUnsafeMutableBufferPointer { zeros in
                                output.statistics.qqScale.withUnsafeMutableBufferPointer { qqScale in
                                    output.statistics.qqZero.withUnsafeMutableBufferPointer { qqZero in
                                        factor.u.withUnsafeBufferPointer { u in
                                            factor.d.withUnsafeBufferPointer { d in
                                                body(
                                                    GPTQBuffers(
                                                        weights: w.baseAddress!, sensitivity: s.baseAddress!,
                                                        errorContribution: e.baseAddress!,
                                                        outliers: m.baseAddress!, blockErrors: blockErrors.baseAddress!,
                                                        scales: scales.baseAddress!, zeros: zeros.baseAddress!,
                                                        qqScale: qqScale.baseAddress, qqZero: qqZero.baseAddress,
                                                        u: u.baseAddress!, d: d.baseAddress!))
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

/// One run's settings and buffers; its methods are the steps of the loop in the header, on a set of rows.
final class GPTQPass: Sendable {
    let buffers: GPTQBuffers
    let config: SpQRConfig
    /// Rows of the whole run (the stride of the statistics) and input columns.
    let rows: Int, n: Int
    /// Columns per group, and per lazy-update block (the reference's `blocksize`): a block's errors reach
    /// the later columns in one sgemm, which does nearly all the flops.
    let groupsize: Int, blocksize: Int
    /// Second-level blocks of qq_groupsize rows.
    let qqBlocks: Int
    let tau: Float
    let detectsOutliers: Bool, usesLeaveOneOut: Bool
    let maxq: Float
    /// Time spent in `fitGroup`, summed over threads.
    let fitNanoseconds = Atomic<UInt64>(0)

    init(_ buffers: GPTQBuffers, config: SpQRConfig, rows: Int, n: Int, tau: Float) {
        self.buffers = buffers
        self.config = config
        self.rows = rows
        self.n = n
        groupsize = config.effectiveGroupsize(inFeatures: n)
        blocksize = config.blocksize
        qqBlocks = (rows + config.qqGroupsize - 1) / config.qqGroupsize
        self.tau = tau
        detectsOutliers = tau != .infinity
        usesLeaveOneOut = !config.simplifiedOutliers && detectsOutliers
        maxq = Float((1 << config.wbits) - 1)
    }

    /// The whole loop on consecutive row chunks (at least one); returns Σ e² of their weights. Stops at a
    /// block boundary once `cancel` is set.
    func quantize(chunks: [Range<Int>], cancel: CancellationToken?, progress: ProgressHandler?) -> Double {
        let scratch = LeaveOneOutScratch(groupsize: groupsize)
        let panel = GPTQPanel(rows: chunks.map(\.count).max()!, columns: blocksize)
        defer {
            scratch.deallocate()
            panel.deallocate()
        }
        let rowRange = chunks.first!.lowerBound..<chunks.last!.upperBound
        var loss: Double = 0
        var blockStart = 0
        while blockStart < n {
            if cancel?.isCancelled == true { break }
            let block = blockStart..<min(blockStart + blocksize, n)
            for chunk in chunks {
                panel.load(from: buffers.weights, n: n, rows: chunk, block: block)
                loss += quantizeColumns(of: block, rows: chunk, panel, scratch)
                panel.store(to: buffers, n: n, rows: chunk, block: block)
            }
            // Wp[:, b+B:] −= E[:, block] · U[block, b+B:]
            BLAS.sgemm(
                m: rowRange.count, n: n - block.upperBound, k: block.count, alpha: -1,
                a: buffers.blockErrors + rowRange.lowerBound, lda: rows, transA: true,
                b: buffers.u + block.lowerBound * n + block.upperBound, ldb: n,
                beta: 1, c: buffers.weights + rowRange.lowerBound * n + block.upperBound, ldc: n)
            progress?(Double(block.upperBound) / Double(n))
            blockStart = block.upperBound
        }
        return loss
    }

    /// The column loop of `block` on `rows`, loaded in `panel`; returns Σ e² of those weights.
    func quantizeColumns(
        of block: Range<Int>, rows: Range<Int>, _ panel: GPTQPanel, _ scratch: LeaveOneOutScratch
    ) -> Double {
        let b0 = block.lowerBound
        let ld = panel.ld
        var loss: Double = 0
        for j in block {
            let jl = j - b0
            if j % groupsize == 0 {
                let t0 = DispatchTime.now().uptimeNanoseconds
                let columns = j..<min(j + groupsize, n)
                if config.perchannel && columns.upperBound <= block.upperBound {
                    fitGroup(columns: columns, rows: rows, scratch, from: (panel.weights + jl * ld, ld))
                } else {
                    // The fit reads past the block or over all rows: from Wp, with the panel written back.
                    panel.storeWeights(to: buffers.weights, n: n, rows: rows, block: block, from: jl)
                    fitGroup(columns: columns, rows: rows, scratch)
                }
                fitNanoseconds.add(DispatchTime.now().uptimeNanoseconds - t0, ordering: .relaxed)
            }
            let group = j / groupsize
            let dj = buffers.d[j]
            let uRow = buffers.u + j * n
            // The rank-1 sub-block holding j: its later columns get j's error right away.
            let subStart = b0 + (j - b0) / GPTQ.rankOneColumns * GPTQ.rankOneColumns
            let subEnd = min(subStart + GPTQ.rankOneColumns, block.upperBound)
            // The later columns of the sub-block, as panel columns.
            let later = (jl + 1)..<(max(subEnd, j + 1) - b0)
            // Column j of the panel's maps and of Eᵀ, row i of the chunk at offset i.
            let column = jl * ld
            let errors = buffers.blockErrors + jl * self.rows + rows.lowerBound
            let scales = buffers.scales + group * self.rows + rows.lowerBound
            let zeros = buffers.zeros + group * self.rows + rows.lowerBound
            // e = (w − Q(w)) / d_j, s = e²; an outlier keeps w and passes no error on. Eight rows at a time
            // (each lane the scalar steps below, MinMaxQuantizerLanes.swift), then the rows left one by one.
            var i = 0
            while i + 8 <= rows.count {
                let w = UnsafeMutableRawPointer(panel.weights + column + i)
                let wv = w.loadUnaligned(as: SIMD8<Float>.self)
                let quant = MinMaxQuantizerLanes(
                    scale: UnsafeRawPointer(scales + i).loadUnaligned(as: SIMD8<Float>.self),
                    zero: UnsafeRawPointer(zeros + i).loadUnaligned(as: SIMD8<Float>.self), maxq: maxq)
                var qv = quant(wv)
                var ev = (wv - qv) / dj
                let sv = ev * ev
                var flags = SIMD8<UInt8>()
                if detectsOutliers {
                    let isOutlier = sv .> tau
                    if isOutlier.someSet {
                        qv.replace(with: wv, where: isOutlier)
                        ev.replace(with: 0, where: isOutlier)
                        flags = SIMD8(truncatingIfNeeded: SIMD8<Int32>().replacing(with: 1, where: isOutlier))
                    }
                }
                let contribution = ev * ev
                w.storeBytes(of: qv, as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(panel.sensitivity + column + i).storeBytes(of: sv, as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(panel.contribution + column + i).storeBytes(
                    of: contribution, as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(panel.outliers + column + i).storeBytes(of: flags, as: SIMD8<UInt8>.self)
                UnsafeMutableRawPointer(errors + i).storeBytes(of: ev, as: SIMD8<Float>.self)
                for l in 0..<8 { loss += Double(contribution[l]) }
                Self.subtract(ev, times: uRow + b0, from: panel.weights + i, ld: ld, columns: later)
                i += 8
            }
            while i < rows.count {
                let quant = MinMaxQuantizer(scale: scales[i], zero: zeros[i], maxq: maxq)
                let wv = panel.weights[column + i]
                var qv = quant(wv)
                var ev = (wv - qv) / dj
                let sv = ev * ev
                let isOutlier = detectsOutliers && sv > tau
                if isOutlier {
                    qv = wv
                    ev = 0
                }
                let contribution = ev * ev
                panel.weights[column + i] = qv
                panel.sensitivity[column + i] = sv
                panel.contribution[column + i] = contribution
                panel.outliers[column + i] = isOutlier ? 1 : 0
                errors[i] = ev
                loss += Double(contribution)
                if ev != 0 {
                    for c in later { panel.weights[c * ld + i] -= ev * uRow[b0 + c] }
                }
                i += 1
            }
            // At the end of a sub-block, its errors reach the rest of the block in one small product,
            // P = E[rows, sub] · U[sub, j+1 : block end], then Wp[rows, j+1 : block end] −= P. The product is
            // made row-major, as over Wp in place: OpenBLAS sums in another order when its operands swap
            // roles. Each weight then takes w − p, rounded once as the sgemm rounds its own w + (−1) · p (a
            // zero's sign aside).
            if j + 1 == subEnd && j + 1 < block.upperBound {
                let columns = block.upperBound - j - 1
                BLAS.sgemm(
                    m: rows.count, n: columns, k: j + 1 - subStart, alpha: 1,
                    a: buffers.blockErrors + (subStart - b0) * self.rows + rows.lowerBound, lda: self.rows,
                    transA: true, b: buffers.u + subStart * n + j + 1, ldb: n,
                    beta: 0, c: panel.product, ldc: columns)
                GPTQPanel.subtractTransposed(
                    rows.count, columns, panel.product, columns, from: panel.weights + (jl + 1) * ld, ld)
            }
        }
        return loss
    }

    /// The rank-1 update of eight rows: for c in `columns`, the vector of the rows at `rows + c · ld`
    /// −= e · u[c], each lane rounded as the scalar w −= e · u[c] rounds it; lanes with e = 0 are left
    /// as they are, as the one-row loop skips them (w − 0 · u is not w for w = −0).
    @inline(__always)
    static func subtract(
        _ e: SIMD8<Float>, times u: UnsafePointer<Float>, from rows: UnsafeMutablePointer<Float>, ld: Int,
        columns: Range<Int>
    ) {
        let zero = e .== 0
        if zero.everySet { return }
        if !zero.someSet {
            for c in columns {
                let w = UnsafeMutableRawPointer(rows + c * ld)
                w.storeBytes(of: w.loadUnaligned(as: SIMD8<Float>.self) - e * u[c], as: SIMD8<Float>.self)
            }
        } else {
            for c in columns {
                let w = UnsafeMutableRawPointer(rows + c * ld)
                let v = w.loadUnaligned(as: SIMD8<Float>.self)
                w.storeBytes(of: (v - e * u[c]).replacing(with: v, where: zero), as: SIMD8<Float>.self)
            }
        }
    }

    /// Fits the statistics of the group `columns` for `rows`: the leave-one-out pre-pass replaces the
    /// outlier candidates by the mean of the others, min–max gives scale and zero (GroupFit.swift, eight
    /// rows per vector), then the second level quantizes them over blocks of qq_groupsize rows (chunks
    /// hold whole blocks).
    /// The values are read from the panel when `from` gives it (the group's first column there and the
    /// panel's `ld`), else from Wp.
    func fitGroup(
        columns: Range<Int>, rows: Range<Int>, _ scratch: LeaveOneOutScratch,
        from panel: (UnsafeMutablePointer<Float>, Int)? = nil
    ) {
        let len = columns.count
        let group = columns.lowerBound / groupsize
        let scales = buffers.scales + group * self.rows
        let zeros = buffers.zeros + group * self.rows
        if config.perchannel {
            let d = buffers.d + columns.lowerBound
            let tau = usesLeaveOneOut ? self.tau : nil
            // Value k of the chunk's row i: in the panel at k · ld + i, in Wp at i · n + k.
            let (first, rowStride, columnStride) =
                panel.map { (UnsafePointer($0.0), 1, $0.1) }
                ?? (UnsafePointer(buffers.weights + rows.lowerBound * n + columns.lowerBound), n, 1)
            var i = 0
            // Eight rows at a time, transposed so that column k of the eight is one vector.
            while i + 8 <= rows.count {
                let x = first + i * rowStride
                if panel == nil {
                    scratch.columnLanes.withMemoryRebound(to: Float.self, capacity: 8 * len) { lanes in
                        GPTQPanel.transpose(8, len, from: x, rowStride, to: lanes, 8)
                    }
                } else {
                    for k in 0..<len {
                        scratch.columnLanes[k] = UnsafeRawPointer(x + k * columnStride).loadUnaligned(
                            as: SIMD8<Float>.self)
                    }
                }
                let q = GroupFit.lanes(
                    x: scratch.columnLanes, d: d, g: len, bits: config.wbits, sym: config.sym,
                    roundZero: config.roundZero, tau: tau, scratch)
                UnsafeMutableRawPointer(scales + rows.lowerBound + i).storeBytes(of: q.scale, as: SIMD8<Float>.self)
                UnsafeMutableRawPointer(zeros + rows.lowerBound + i).storeBytes(of: q.zero, as: SIMD8<Float>.self)
                i += 8
            }
            while i < rows.count {
                var x = first + i * rowStride
                if panel != nil {
                    for k in 0..<len { scratch.rowValues[k] = x[k * columnStride] }
                    x = UnsafePointer(scratch.rowValues)
                }
                let q = GroupFit.row(
                    x: x, d: d, g: len, bits: config.wbits, sym: config.sym, roundZero: config.roundZero, tau: tau,
                    scratch)
                scales[rows.lowerBound + i] = q.scale
                zeros[rows.lowerBound + i] = q.zero
                i += 1
            }
        } else {
            var lo = Float.infinity
            var hi = -Float.infinity
            for r in rows {
                let x = buffers.weights + r * n + columns.lowerBound
                for k in 0..<len {
                    lo = min(lo, x[k])
                    hi = max(hi, x[k])
                }
            }
            let q = MinMaxQuantizer(
                xmin: lo, xmax: hi, bits: config.wbits, sym: config.sym, roundZero: config.roundZero)
            for r in rows {
                scales[r] = q.scale
                zeros[r] = q.zero
            }
        }
        var b0 = rows.lowerBound
        while b0 < rows.upperBound {
            let b1 = min(b0 + config.qqGroupsize, rows.upperBound)
            let qqIndex = group * qqBlocks + b0 / config.qqGroupsize
            if let bits = config.qqScaleBits, let qqScale = buffers.qqScale {
                qqScale[qqIndex] = MinMaxQuantizer.quantizeBlock(
                    UnsafeMutableBufferPointer(start: scales + b0, count: b1 - b0),
                    bits: bits, sym: false)
            }
            if config.quantizesZeros, let bits = config.qqZeroBits, let qqZero = buffers.qqZero {
                qqZero[qqIndex] = MinMaxQuantizer.quantizeBlock(
                    UnsafeMutableBufferPointer(start: zeros + b0, count: b1 - b0),
                    bits: bits, sym: config.qqZeroSym)
            }
            b0 = b1
        }
    }
}
