// The numeric pieces of a LLaMA-family block, on row-major float32 matrices of many tokens at once:
//
//   linear     Y = X Wᵀ (+ b)                     X [rows, in], W [out, in]  (OpenBLAS sgemm)
//   RMSNorm    y = w ⊙ x / sqrt(mean(x²) + eps)    per row (transformers LlamaRMSNorm, float32)
//   RoPE       (x_i, x_{i+D/2}) ↦ (x_i cos − x_{i+D/2} sin, x_{i+D/2} cos + x_i sin),  angle = pos · inv_freq_i
//              (transformers rotate_half on the Hugging Face row order)
//   SwiGLU     a = silu(g) ⊙ u,  silu(g) = g / (1 + e^−g)
//   attention  softmax(q kᵀ / sqrt(D) + causal mask) v, per window and head (two sgemms per head)
//
// Work is split over the cores in fixed tiles with single-threaded OpenBLAS (SpQRCore's BLAS rules):
// every output element is computed by the same sequence of operations whatever the core count.

import Foundation
import SpQRCore

/// A float32 buffer allocated once and reused (owned; freed on deinit).
final class FloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(_ count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }

    var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: pointer, count: count) }
}

/// A pointer handed to parallel workers that touch disjoint ranges.
struct SendablePointer: @unchecked Sendable {
    let p: UnsafeMutablePointer<Float>
    init(_ p: UnsafeMutablePointer<Float>) { self.p = p }
    init(_ p: UnsafePointer<Float>) { self.p = UnsafeMutablePointer(mutating: p) }
}

enum Kernels {
    static let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

    /// Runs `body(i)` for i in 0..<count over the cores.
    static func parallel(_ count: Int, _ body: @Sendable (Int) -> Void) {
        if count == 1 {
            body(0)
            return
        }
        DispatchQueue.concurrentPerform(iterations: count, execute: body)
    }

    /// Splits 0..<n into tiles of at least `minimum` (a multiple of 16) for about four tiles per core.
    static func tiles(_ n: Int, minimum: Int = 64) -> [Range<Int>] {
        let size = max(minimum, (n + 4 * cores - 1) / (4 * cores) + 15) / 16 * 16
        return stride(from: 0, to: n, by: size).map { $0..<min(n, $0 + size) }
    }

    /// Y [rows, out] = X [rows, in] · Wᵀ (+ bias), W [out, in]; tiles over whichever side is longer.
    static func linear(
        _ x: UnsafePointer<Float>, rows: Int, inputs: Int, weight: UnsafePointer<Float>, outputs: Int,
        bias: UnsafePointer<Float>? = nil, into y: UnsafeMutablePointer<Float>, accumulate: Bool = false
    ) {
        let (xs, ws, ys) = (SendablePointer(x), SendablePointer(weight), SendablePointer(y))
        let byRows = rows >= outputs
        let parts = tiles(byRows ? rows : outputs)
        parallel(parts.count) { t in
            let r = byRows ? parts[t] : 0..<rows
            let o = byRows ? 0..<outputs : parts[t]
            BLAS.sgemm(
                m: r.count, n: o.count, k: inputs, alpha: 1, a: xs.p + r.lowerBound * inputs, lda: inputs,
                b: ws.p + o.lowerBound * inputs, ldb: inputs, transB: true,
                beta: accumulate ? 1 : 0, c: ys.p + r.lowerBound * outputs + o.lowerBound, ldc: outputs)
        }
        if let bias {
            let bs = SendablePointer(bias)
            let rowTiles = tiles(rows)
            parallel(rowTiles.count) { t in
                for i in rowTiles[t] { for j in 0..<outputs { ys.p[i * outputs + j] += bs.p[j] } }
            }
        }
    }

    /// Y = RMSNorm(X) ⊙ w row by row (Y may be X).
    static func rmsNorm(
        _ x: UnsafePointer<Float>, rows: Int, cols: Int, weight: UnsafePointer<Float>, eps: Float,
        into y: UnsafeMutablePointer<Float>
    ) {
        let (xs, ws, ys) = (SendablePointer(x), SendablePointer(weight), SendablePointer(y))
        let parts = tiles(rows, minimum: 16)
        parallel(parts.count) { t in
            for i in parts[t] {
                let row = xs.p + i * cols
                let out = ys.p + i * cols
                var sum: Float = 0
                for j in 0..<cols { sum += row[j] * row[j] }
                let scale = 1 / (sum / Float(cols) + eps).squareRoot()
                for j in 0..<cols { out[j] = ws.p[j] * (row[j] * scale) }
            }
        }
    }

    /// cos and sin tables [positions, D/2] for angle = pos · inv_freq (angle in float32 as transformers forms it).
    static func ropeTables(positions: Int, inverseFrequencies f: [Float]) -> (cos: [Float], sin: [Float]) {
        var c = [Float](repeating: 0, count: positions * f.count)
        var s = c
        for p in 0..<positions {
            for i in 0..<f.count {
                let angle = Double(Float(p) * f[i])
                c[p * f.count + i] = Float(Foundation.cos(angle))
                s[p * f.count + i] = Float(Foundation.sin(angle))
            }
        }
        return (c, s)
    }

    /// Rotates every head of X [windows·T, heads·D] in place; a row's position is its index within its window.
    static func rope(
        _ x: UnsafeMutablePointer<Float>, rows: Int, windowLength: Int, heads: Int, headDim: Int,
        cos: [Float], sin: [Float]
    ) {
        let xs = SendablePointer(x)
        let half = headDim / 2
        let width = heads * headDim
        let parts = tiles(rows, minimum: 16)
        cos.withUnsafeBufferPointer { cp in
            sin.withUnsafeBufferPointer { sp in
                let (c, s) = (SendablePointer(cp.baseAddress!), SendablePointer(sp.baseAddress!))
                parallel(parts.count) { t in
                    for r in parts[t] {
                        let pos = r % windowLength
                        for h in 0..<heads {
                            let v = xs.p + r * width + h * headDim
                            for i in 0..<half {
                                let cc = c.p[pos * half + i]
                                let ss = s.p[pos * half + i]
                                let a = v[i]
                                let b = v[i + half]
                                v[i] = a * cc - b * ss
                                v[i + half] = b * cc + a * ss
                            }
                        }
                    }
                }
            }
        }
    }

    /// G = silu(G) ⊙ U in place.
    static func swiglu(_ g: UnsafeMutablePointer<Float>, _ u: UnsafePointer<Float>, count: Int) {
        let (gs, us) = (SendablePointer(g), SendablePointer(u))
        let parts = tiles(count, minimum: 4096)
        parallel(parts.count) { t in
            for i in parts[t] {
                let v = gs.p[i]
                gs.p[i] = v / (1 + Foundation.exp(-v)) * us.p[i]
            }
        }
    }

    /// Causal self-attention for `windows` windows of T tokens: O [rows, heads·D] from Q [rows, heads·D] and
    /// K, V [rows, kvHeads·D]; query head h reads KV head h / (heads / kvHeads). Positions farther back than
    /// `window` (Mistral's sliding window) are masked too.
    /// Query rows per attention block.
    static let causalBlock = 128

    static func attention(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, windows: Int, windowLength t: Int,
        heads: Int, kvHeads: Int, headDim d: Int, slidingWindow: Int?, into o: UnsafeMutablePointer<Float>
    ) {
        let (qs, ks, vs, os) = (SendablePointer(q), SendablePointer(k), SendablePointer(v), SendablePointer(o))
        let qWidth = heads * d
        let kvWidth = kvHeads * d
        let group = heads / kvHeads
        let scale = 1 / Float(d).squareRoot()
        parallel(windows * heads) { task in
            let w = task / heads
            let h = task % heads
            let g = h / group
            let scores = UnsafeMutablePointer<Float>.allocate(capacity: t * t)
            defer { scores.deallocate() }
            let qh = qs.p + w * t * qWidth + h * d
            let kh = ks.p + w * t * kvWidth + g * d
            let vh = vs.p + w * t * kvWidth + g * d
            let oh = os.p + w * t * qWidth + h * d
            // Query rows in blocks; a block reads only the keys up to its last row (the causal triangle).
            for r0 in stride(from: 0, to: t, by: causalBlock) {
                let rows = min(causalBlock, t - r0)
                let keys = r0 + rows
                let lowest = slidingWindow.map { max(0, r0 - $0 + 1) } ?? 0
                BLAS.sgemm(
                    m: rows, n: keys - lowest, k: d, alpha: scale, a: qh + r0 * qWidth, lda: qWidth,
                    b: kh + lowest * kvWidth, ldb: kvWidth, transB: true, beta: 0, c: scores, ldc: t)
                for ii in 0..<rows {
                    let i = r0 + ii
                    let row = scores + ii * t - lowest
                    let first = slidingWindow.map { max(0, i - $0 + 1) } ?? 0
                    var m = -Float.infinity
                    for j in first...i { m = max(m, row[j]) }
                    var sum: Float = 0
                    for j in lowest..<first { row[j] = 0 }
                    for j in first...i {
                        let e = Foundation.exp(row[j] - m)
                        row[j] = e
                        sum += e
                    }
                    let inv = 1 / sum
                    for j in first...i { row[j] *= inv }
                    for j in (i + 1)..<keys { row[j] = 0 }
                }
                BLAS.sgemm(
                    m: rows, n: d, k: keys - lowest, alpha: 1, a: scores, lda: t, b: vh + lowest * kvWidth,
                    ldb: kvWidth,
                    beta: 0, c: oh + r0 * qWidth, ldc: qWidth)
            }
        }
    }
}
