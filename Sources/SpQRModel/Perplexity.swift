// Perplexity by the GPTQ / SpQR protocol (reference `main.py` perplexity_eval, `datautils.py`), and the
// divergence from a base model on the same windows (llama.cpp's `--kl-divergence` figures):
//
//   windows:   the token stream cut into non-overlapping windows of seqlen tokens, remainder dropped
//   nll_w      = mean over i = 0 … seqlen−2 of  logsumexp(z_i) − z_i[token_{i+1}]
//   ppl        = exp(mean over windows of nll_w)
//   KL_i       = Σ_v p_base(v) (log p_base(v) − log p(v))  at every scored position i, reported as the
//                mean and the 99th percentile (linear interpolation between order statistics, numpy's default)
//   top-1      = share of scored positions where argmax z_base = argmax z

import Foundation
import SpQRCore

/// The figures of one evaluation.
public struct PerplexityResult: Sendable {
    public var windows: Int
    public var seqlen: Int
    /// Mean negative log-likelihood of each window.
    public var windowNLL: [Double]
    public var baseWindowNLL: [Double] = []
    /// KL(base ‖ model) at every scored position.
    public var kl: [Double] = []
    public var top1Agreements = 0

    public var ppl: Double { Foundation.exp(windowNLL.reduce(0, +) / Double(max(1, windowNLL.count))) }
    public var basePPL: Double? {
        baseWindowNLL.isEmpty ? nil : Foundation.exp(baseWindowNLL.reduce(0, +) / Double(baseWindowNLL.count))
    }
    public var klMean: Double? { kl.isEmpty ? nil : kl.reduce(0, +) / Double(kl.count) }
    public var klP99: Double? { kl.isEmpty ? nil : Perplexity.percentile(kl, 0.99) }
    public var top1Agreement: Double? { kl.isEmpty ? nil : Double(top1Agreements) / Double(kl.count) }
}

public enum Perplexity {
    /// Non-overlapping windows of `seqlen` tokens from the start; the remainder is dropped.
    public static func windows(_ tokens: [Int], seqlen: Int, maxWindows: Int? = nil) -> [[Int]] {
        guard seqlen > 1 else { return [] }
        let count = min(tokens.count / seqlen, maxWindows ?? Int.max)
        return (0..<count).map { Array(tokens[($0 * seqlen)..<(($0 + 1) * seqlen)]) }
    }

    /// The q-quantile of `values` with linear interpolation (numpy.percentile's default).
    public static func percentile(_ values: [Double], _ q: Double) -> Double {
        let s = values.sorted()
        let x = q * Double(s.count - 1)
        let lo = Int(x.rounded(.down))
        let hi = min(lo + 1, s.count - 1)
        return s[lo] + (s[hi] - s[lo]) * (x - Double(lo))
    }

    /// Windows per batch: one group of a block's activation buffers (`BlockScratch.rowBudget` tokens), so
    /// that a batch's weights are converted once and progress moves every few seconds.
    static func batchSize(seqlen: Int) -> Int { max(1, BlockScratch.rowBudget / seqlen) }

    /// Evaluates `model` (and `base`, when given) on `windows`; `progress(done, total)` after every block of
    /// a batch and every window scored, `done` counting windows (fractional inside a batch).
    public static func evaluate(
        _ model: Decoder, base: Decoder? = nil, windows: [[Int]], cancel: CancellationToken? = nil,
        progress: ((Double, Int) -> Void)? = nil
    ) throws -> PerplexityResult {
        let t = windows.first?.count ?? 0
        guard t > 1 else { throw SpQRError(.invalidSetting, "no window to evaluate (windows need at least 2 tokens)") }
        if let base, base.config.vocabulary != model.config.vocabulary {
            throw SpQRError(
                .invalidSetting,
                "\(base.path) has a vocabulary of \(base.config.vocabulary) tokens but \(model.path) has \(model.config.vocabulary); KL needs the same tokens"
            )
        }
        var result = PerplexityResult(windows: windows.count, seqlen: t, windowNLL: [])
        let v = model.config.vocabulary
        let logits = FloatBuffer(t * v)
        let baseLogits = base.map { _ in FloatBuffer(t * v) }
        let batch = batchSize(seqlen: t)
        for first in stride(from: 0, to: windows.count, by: batch) {
            let group = Array(windows[first..<min(windows.count, first + batch)])
            // The blocks count for 90% of a batch's work, scoring its windows for the rest.
            let models = base == nil ? 1.0 : 2.0
            let report = { (m: Int, b: Int, blocks: Int) in
                progress?(
                    Double(first) + 0.9 * Double(group.count) * (Double(m) + Double(b) / Double(blocks)) / models,
                    windows.count)
            }
            let x = try hidden(model, group, cancel) { report(0, $0, $1) }
            let bx = try base.map { try hidden($0, group, cancel) { report(1, $0, $1) } }
            for (w, ids) in group.enumerated() {
                try cancel?.check()
                windowLogits(model, x, w, into: logits)
                if let base, let bx, let baseLogits { windowLogits(base, bx, w, into: baseLogits) }
                let scores = score(logits, baseLogits, tokens: ids, vocabulary: v)
                result.windowNLL.append(scores.nll)
                if let b = scores.baseNLL {
                    result.baseWindowNLL.append(b)
                    result.kl += scores.kl
                    result.top1Agreements += scores.agreements
                }
                let scored =
                    w + 1 == group.count ? Double(group.count) : Double(group.count) * 0.9 + 0.1 * Double(w + 1)
                progress?(Double(first) + scored, windows.count)
            }
        }
        return result
    }

    /// The final hidden states of a group of windows.
    static func hidden(
        _ model: Decoder, _ windows: [[Int]], _ cancel: CancellationToken?,
        blockDone: (Int, Int) -> Void = { _, _ in }
    ) throws -> Hidden {
        let x = try model.embed(windows)
        for b in 0..<model.config.blocks {
            try model.runBlock(b, on: x, cancel: cancel)
            blockDone(b + 1, model.config.blocks)
        }
        return x
    }

    static func windowLogits(_ model: Decoder, _ x: Hidden, _ w: Int, into logits: FloatBuffer) {
        let normed = FloatBuffer(x.length * x.width)
        model.finalNormed(x, window: w, into: normed.pointer)
        model.logits(normed: normed.pointer, rows: x.length, into: logits.pointer)
    }

    /// Per-window figures from the logits of one window (and the base model's).
    static func score(_ logits: FloatBuffer, _ base: FloatBuffer?, tokens: [Int], vocabulary v: Int)
        -> (nll: Double, baseNLL: Double?, kl: [Double], agreements: Int)
    {
        let n = tokens.count - 1
        var nll = [Double](repeating: 0, count: n)
        var baseNLL = nll
        var kl = nll
        var agree = [Bool](repeating: false, count: n)
        let lp = SendablePointer(logits.pointer)
        let bp = base.map { SendablePointer($0.pointer) }
        nll.withUnsafeMutableBufferPointer { nllp in
            baseNLL.withUnsafeMutableBufferPointer { bnllp in
                kl.withUnsafeMutableBufferPointer { klp in
                    agree.withUnsafeMutableBufferPointer { ap in
                        let (np, bnp, kp) = (
                            SharedDoubles(nllp.baseAddress!), SharedDoubles(bnllp.baseAddress!),
                            SharedDoubles(klp.baseAddress!)
                        )
                        let agreeP = SharedBools(ap.baseAddress!)
                        let parts = Kernels.tiles(n, minimum: 16)
                        Kernels.parallel(parts.count) { t in
                            for i in parts[t] {
                                let z = lp.p + i * v
                                let (lse, top) = logSumExp(z, v)
                                np.p[i] = lse - Double(z[tokens[i + 1]])
                                guard let bp else { continue }
                                let zb = bp.p + i * v
                                let (blse, btop) = logSumExp(zb, v)
                                bnp.p[i] = blse - Double(zb[tokens[i + 1]])
                                var sum = 0.0
                                for j in 0..<v {
                                    let lb = Double(zb[j]) - blse
                                    sum += Foundation.exp(lb) * (lb - (Double(z[j]) - lse))
                                }
                                kp.p[i] = max(0, sum)
                                agreeP.p[i] = top == btop
                            }
                        }
                    }
                }
            }
        }
        let mean = nll.reduce(0, +) / Double(n)
        guard base != nil else { return (mean, nil, [], 0) }
        return (mean, baseNLL.reduce(0, +) / Double(n), kl, agree.filter { $0 }.count)
    }

    /// log Σ exp(z) (in double) and the index of the largest value.
    static func logSumExp(_ z: UnsafePointer<Float>, _ v: Int) -> (Double, Int) {
        var m = z[0]
        var top = 0
        for j in 1..<v where z[j] > m {
            m = z[j]
            top = j
        }
        var s = 0.0
        for j in 0..<v { s += Double(Foundation.exp(z[j] - m)) }
        return (Double(m) + Foundation.log(s), top)
    }
}

struct SharedDoubles: @unchecked Sendable {
    let p: UnsafeMutablePointer<Double>
    init(_ p: UnsafeMutablePointer<Double>) { self.p = p }
}
struct SharedBools: @unchecked Sendable {
    let p: UnsafeMutablePointer<Bool>
    init(_ p: UnsafeMutablePointer<Bool>) { self.p = p }
}
