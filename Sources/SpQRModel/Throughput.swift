// Throughput figures for a decoder: the matrix-product work of one token and the machine's sgemm rate,
// whose quotient is the arithmetic floor of tokens per second:
//
//   flops/token = 2 · (Σ over blocks of the linear layers' weights + vocabulary · hidden)
//               + 4 · blocks · heads · headDim · seqlen          (q kᵀ and p v, computed over the whole window)
//   floor       = sgemm FLOP/s ÷ flops/token

import Foundation
import SpQRCore

public enum Throughput {
    /// Floating-point operations of the matrix products for one token of a window of `seqlen`.
    public static func flopsPerToken(_ c: ModelConfig, seqlen: Int) -> Double {
        let qw = c.heads * c.headDim
        let kvw = c.kvHeads * c.headDim
        let block = c.hidden * (qw + 2 * kvw) + qw * c.hidden + 3 * c.hidden * c.intermediate
        let linear = Double(c.blocks * block + c.vocabulary * c.hidden)
        return 2 * linear + 4 * Double(c.blocks * qw * seqlen)
    }

    /// The sgemm rate in FLOP/s on all cores (n³ products tiled as the forward pass tiles them; best of `repeats`).
    public static func sgemmRate(n: Int = 2048, repeats: Int = 3) -> Double {
        let a = FloatBuffer(n * n)
        let b = FloatBuffer(n * n)
        let c = FloatBuffer(n * n)
        var rng = SeededRandom(seed: 1)
        for i in 0..<(n * n) {
            a.pointer[i] = rng.gaussian()
            b.pointer[i] = rng.gaussian()
        }
        var best = Double.infinity
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            Kernels.linear(a.pointer, rows: n, inputs: n, weight: b.pointer, outputs: n, into: c.pointer)
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return 2 * Double(n) * Double(n) * Double(n) / best
    }
}
