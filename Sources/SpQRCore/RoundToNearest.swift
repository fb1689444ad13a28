// Round-to-nearest baseline: the same groups, bits and second-level statistics as the SpQR run, but no
// error feedback and no outliers, so the gain of GPTQ's error feedback shows.
//
//     Q[i, j] = scale_ig · (clamp(round(W[i, j] / scale_ig + zero_ig), 0, maxq) − zero_ig)
//
// with the statistics fitted on the original weights of each group (permuted by the same order). Unlike
// the reference's `--nearest` path, which returns integer codes, this dequantizes.

/// The round-to-nearest quantizer at given settings.
public enum RoundToNearest {
    /// Quantizes permuted weights `wp` [rows, n]; returns the dequantized matrix in the same order.
    public static func quantize(permuted wp: [Float], rows: Int, cols n: Int, config: SpQRConfig) -> [Float] {
        let g = config.effectiveGroupsize(inFeatures: n)
        var q = wp
        var scales = [Float](repeating: 0, count: rows)
        var zeros = [Float](repeating: 0, count: rows)
        q.withUnsafeMutableBufferPointer { qp in
            var j0 = 0
            while j0 < n {
                let j1 = min(j0 + g, n)
                if config.perchannel {
                    for r in 0..<rows {
                        let m = MinMaxQuantizer(
                            fitting: UnsafeBufferPointer(rebasing: qp[(r * n + j0)..<(r * n + j1)]),
                            bits: config.wbits, sym: config.sym, roundZero: config.roundZero)
                        scales[r] = m.scale
                        zeros[r] = m.zero
                    }
                } else {
                    var lo = Float.infinity
                    var hi = -Float.infinity
                    for r in 0..<rows {
                        for c in j0..<j1 {
                            lo = min(lo, qp[r * n + c])
                            hi = max(hi, qp[r * n + c])
                        }
                    }
                    let m = MinMaxQuantizer(
                        xmin: lo, xmax: hi, bits: config.wbits, sym: config.sym, roundZero: config.roundZero)
                    for r in 0..<rows {
                        scales[r] = m.scale
                        zeros[r] = m.zero
                    }
                }
                scales.withUnsafeMutableBufferPointer { s in
                    zeros.withUnsafeMutableBufferPointer { z in
                        var b0 = 0
                        while b0 < rows {
                            let b1 = min(b0 + config.qqGroupsize, rows)
                            if let bits = config.qqScaleBits {
                                _ = MinMaxQuantizer.quantizeBlock(
                                    UnsafeMutableBufferPointer(rebasing: s[b0..<b1]), bits: bits, sym: false)
                            }
                            if config.quantizesZeros, let bits = config.qqZeroBits {
                                _ = MinMaxQuantizer.quantizeBlock(
                                    UnsafeMutableBufferPointer(rebasing: z[b0..<b1]), bits: bits, sym: config.qqZeroSym)
                            }
                            b0 = b1
                        }
                    }
                }
                let maxq = Float((1 << config.wbits) - 1)
                for r in 0..<rows {
                    let m = MinMaxQuantizer(scale: scales[r], zero: zeros[r], maxq: maxq)
                    for c in j0..<j1 { qp[r * n + c] = m(qp[r * n + c]) }
                }
                j0 = j1
            }
        }
        return q
    }
}
