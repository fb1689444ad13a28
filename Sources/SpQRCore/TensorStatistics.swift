// Quick statistics of a weight tensor, shown in layer lists:
//
//     std = sqrt(m2),   max|w|,   kurtosis = m4 / m2²  (Pearson; 3 for a Gaussian)
//
// with m2, m4 the central moments over all elements (accumulated in Double). Heavy tails (kurtosis ≫ 3)
// are the weights SpQR's outliers are for.
//
// A tensor is summarised in bounded memory: its elements arrive in chunks; each chunk's moments are
// computed in two passes (mean, then Σd², Σd³, Σd⁴ about it) and merged into the running ones with the
// pairwise update of Chan, Golub and LeVeque (1979) extended to the third and fourth moments by Pébay
// (2008, "Formulas for robust, one-pass parallel computation of covariances and arbitrary-order
// statistical moments"). With n = n_a + n_b and δ = mean_b − mean_a, for the sums M_k = Σ (x − mean)^k:
//
//     mean = mean_a + δ·n_b/n
//     M2 = M2_a + M2_b + δ²·n_a·n_b/n
//     M3 = M3_a + M3_b + δ³·n_a·n_b·(n_a − n_b)/n² + 3δ·(n_a·M2_b − n_b·M2_a)/n
//     M4 = M4_a + M4_b + δ⁴·n_a·n_b·(n_a² − n_a·n_b + n_b²)/n³ + 6δ²·(n_a²·M2_b + n_b²·M2_a)/n²
//          + 4δ·(n_a·M3_b − n_b·M3_a)/n
//
// A tensor of more than `exactLimit` elements is summarised from a sample instead: `sampleRuns` runs of
// consecutive elements spread evenly from its first element to its last, `sampleElements` in all, and
// the result says so (`sampledElements`).

import Dispatch
import Foundation

/// Summary statistics of a tensor.
public struct TensorStatistics: Sendable, Equatable, Codable {
    public var mean: Double
    public var std: Double
    public var maxAbs: Double
    public var kurtosis: Double
    /// The elements the figures come from when they are a sample of the tensor; nil when every element
    /// was used.
    public var sampledElements: Int?

    enum CodingKeys: String, CodingKey {
        case mean, std, kurtosis
        case maxAbs = "max_abs"
        case sampledElements = "sampled_elements"
    }

    /// Statistics of `values` (two passes: mean, then central moments).
    public init(_ values: [Float]) {
        var m = Moments()
        values.withUnsafeBufferPointer { m.add($0) }
        self.init(m)
    }

    /// Statistics of accumulated moments; `sampledElements` when they come from a sample.
    public init(_ m: Moments, sampledElements: Int? = nil) {
        let n = Double(max(m.count, 1))
        let m2 = m.m2 / n
        let m4 = m.m4 / n
        self.mean = m.mean
        self.std = m2.squareRoot()
        self.maxAbs = m.maxAbs
        self.kurtosis = m2 > 0 ? m4 / (m2 * m2) : 0
        self.sampledElements = sampledElements
    }

    /// Tensors with more elements than this are summarised from a sample.
    public static let exactLimit = 1 << 30
    /// Elements read for a sample.
    public static let sampleElements = 1 << 24
    /// Runs a sample is spread over.
    public static let sampleRuns = 256
    /// Elements read per chunk.
    public static let chunkElements = 1 << 20

    /// Statistics of a tensor of `count` elements read through `read` (which returns the elements of a
    /// range whose bounds are multiples of `granularity`, as block-quantized types need), a chunk at a
    /// time: every element when `count` ≤ `exactLimit`, otherwise a sample of about `sampleElements`.
    public static func streamed(
        count: Int, granularity: Int = 1, exactLimit: Int = exactLimit,
        sampleElements: Int = sampleElements, sampleRuns: Int = sampleRuns,
        chunkElements: Int = chunkElements,
        read: (Range<Int>) throws -> [Float]
    ) throws -> TensorStatistics {
        let g = max(granularity, 1)
        let chunk = max(g, chunkElements / g * g)
        var m = Moments()
        func add(_ range: Range<Int>) throws {
            var start = range.lowerBound
            while start < range.upperBound {
                let end = min(range.upperBound, start + chunk)
                let values = try read(start..<end)
                values.withUnsafeBufferPointer { m.add($0) }
                start = end
            }
        }
        if count <= exactLimit {
            try add(0..<count)
            return TensorStatistics(m)
        }
        let runs = max(1, sampleRuns)
        let run = max(g, sampleElements / runs / g * g)
        let blocks = count / g
        let runBlocks = run / g
        var previousEnd = 0
        for i in 0..<runs {
            // Evenly spaced starts from the first block to the last full run, kept in increasing order
            // and never overlapping.
            let startBlock = runs == 1 ? 0 : max(0, blocks - runBlocks) * i / (runs - 1)
            let start = max(previousEnd, startBlock * g)
            let end = min(count, start + run)
            if start >= end { continue }
            try add(start..<end)
            previousEnd = end
        }
        return TensorStatistics(m, sampledElements: m.count)
    }
}

/// Running moments of a stream of values: count, mean, the sums of the 2nd, 3rd and 4th powers of the
/// deviations from the mean (in Double) and max |x|, merged chunk by chunk (see the file's header).
public struct Moments: Sendable, Equatable {
    public private(set) var count = 0
    public private(set) var mean = 0.0
    public private(set) var m2 = 0.0
    public private(set) var m3 = 0.0
    public private(set) var m4 = 0.0
    public private(set) var maxAbs = 0.0

    public init() {}

    /// Adds a chunk: its own moments in two passes, then the merge.
    public mutating func add(_ values: UnsafeBufferPointer<Float>) {
        guard !values.isEmpty else { return }
        var sum = 0.0
        var maxAbs = 0.0
        for v in values {
            sum += Double(v)
            maxAbs = max(maxAbs, Double(abs(v)))
        }
        var chunk = Moments()
        chunk.count = values.count
        chunk.mean = sum / Double(values.count)
        chunk.maxAbs = maxAbs
        for v in values {
            let d = Double(v) - chunk.mean
            let d2 = d * d
            chunk.m2 += d2
            chunk.m3 += d2 * d
            chunk.m4 += d2 * d2
        }
        merge(chunk)
    }

    /// Merges the moments of another part of the same stream.
    public mutating func merge(_ b: Moments) {
        guard b.count > 0 else { return }
        guard count > 0 else {
            self = b
            return
        }
        let na = Double(count)
        let nb = Double(b.count)
        let n = na + nb
        let delta = b.mean - mean
        let d2 = delta * delta
        let m4 =
            self.m4 + b.m4 + d2 * d2 * na * nb * (na * na - na * nb + nb * nb) / (n * n * n)
            + 6 * d2 * (na * na * b.m2 + nb * nb * m2) / (n * n) + 4 * delta * (na * b.m3 - nb * m3) / n
        let m3 = self.m3 + b.m3 + d2 * delta * na * nb * (na - nb) / (n * n) + 3 * delta * (na * b.m2 - nb * m2) / n
        self.m2 += b.m2 + d2 * na * nb / n
        self.m3 = m3
        self.m4 = m4
        self.mean += delta * nb / n
        self.count += b.count
        self.maxAbs = max(maxAbs, b.maxAbs)
    }
}

/// How tensor names group into transformer blocks.
public enum LayerNames {
    /// The block a tensor belongs to: the name up to and including the first `<word>.<number>` pair whose
    /// word is a usual block container (`layers`, `layer`, `h`, `blocks`, `blk`, `block`), e.g.
    /// `model.layers.3` for `model.layers.3.self_attn.q_proj.weight`; nil for tensors outside blocks.
    public static func block(of name: String) -> String? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        for i in 0..<max(parts.count - 1, 0)
        where ["layers", "layer", "h", "blocks", "blk", "block"].contains(parts[i]) {
            if Int(parts[i + 1]) != nil { return parts[0...(i + 1)].joined(separator: ".") }
        }
        return nil
    }
}
