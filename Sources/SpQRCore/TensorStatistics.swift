// Quick statistics of a weight tensor, shown in layer lists:
//
//     std = sqrt(m2),   max|w|,   kurtosis = m4 / m2²  (Pearson; 3 for a Gaussian)
//
// with m2, m4 the central moments over all elements (accumulated in Double). Heavy tails (kurtosis ≫ 3)
// are the weights SpQR's outliers are for.

import Dispatch
import Foundation

/// Summary statistics of a tensor.
public struct TensorStatistics: Sendable, Equatable, Codable {
    public var mean: Double
    public var std: Double
    public var maxAbs: Double
    public var kurtosis: Double

    enum CodingKeys: String, CodingKey {
        case mean, std, kurtosis
        case maxAbs = "max_abs"
    }

    /// Statistics of `values` (two passes: mean, then central moments).
    public init(_ values: [Float]) {
        let n = Double(max(values.count, 1))
        var sum = 0.0, maxAbs = 0.0
        values.withUnsafeBufferPointer { p in
            for v in p {
                sum += Double(v)
                maxAbs = max(maxAbs, Double(abs(v)))
            }
        }
        let mean = sum / n
        var m2 = 0.0, m4 = 0.0
        values.withUnsafeBufferPointer { p in
            for v in p {
                let d = Double(v) - mean, d2 = d * d
                m2 += d2
                m4 += d2 * d2
            }
        }
        m2 /= n
        m4 /= n
        self.mean = mean
        self.std = m2.squareRoot()
        self.maxAbs = maxAbs
        self.kurtosis = m2 > 0 ? m4 / (m2 * m2) : 0
    }
}

/// How tensor names group into transformer blocks.
public enum LayerNames {
    /// The block a tensor belongs to: the name up to and including the first `<word>.<number>` pair whose
    /// word is a usual block container (`layers`, `layer`, `h`, `blocks`, `blk`, `block`), e.g.
    /// `model.layers.3` for `model.layers.3.self_attn.q_proj.weight`; nil for tensors outside blocks.
    public static func block(of name: String) -> String? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        for i in 0..<max(parts.count - 1, 0) where ["layers", "layer", "h", "blocks", "blk", "block"].contains(parts[i]) {
            if Int(parts[i + 1]) != nil { return parts[0...(i + 1)].joined(separator: ".") }
        }
        return nil
    }
}
