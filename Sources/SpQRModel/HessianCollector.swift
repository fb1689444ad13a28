// Hessians of every linear layer's input from calibration windows, without Python:
//
//   H_site = (2 / N) · Σ over windows s, tokens t of x_{s,t} x_{s,t}ᵀ,   N = number of windows
//
// the SpQR reference's `SPQRUtil.add_batch` (N counts sequences; docs/hessian-format.md), which
// tools/collect_hessians.py reproduces with forward hooks. Here all windows pass through the model block
// by block (as the reference's layer-by-layer loop does): only one block's activations and one block's
// Hessians are held at a time, Σ x xᵀ accumulates in float32 with one symmetric rank-k update (ssyrk,
// upper triangle) per group of windows, and
// each block's matrices go to the output file as soon as the block is done.

import Foundation
import SpQRCore

/// How calibration windows are drawn from the token stream.
public enum WindowSampling: String, Sendable, CaseIterable {
    /// Consecutive windows from the start.
    case first
    /// Spread evenly: window i starts at ⌊i · count / n⌋ · seqlen (tools/collect_hessians.py's choice).
    case even
    /// Uniform random starts at any token in [0, tokens − seqlen] (the reference's `datautils`), SplitMix64-seeded.
    case random

    /// The windows of `seqlen` tokens drawn from `tokens`; fewer than `count` when the text is short
    /// (non-overlapping for first and even).
    public func windows(_ tokens: [Int], seqlen: Int, count: Int, seed: UInt64 = 0) -> [[Int]] {
        let available = tokens.count / seqlen
        guard seqlen > 0, available > 0 else { return [] }
        let starts: [Int]
        switch self {
        case .first: starts = (0..<min(count, available)).map { $0 * seqlen }
        case .even:
            let n = min(count, available)
            starts = (0..<n).map { $0 * available / n * seqlen }
        case .random:
            var rng = SeededRandom(seed: seed)
            starts = (0..<count).map { _ in Int(rng.next() % UInt64(tokens.count - seqlen + 1)) }
        }
        return starts.map { Array(tokens[$0..<($0 + seqlen)]) }
    }
}

public enum HessianCollector {
    /// Collects the Hessians of every input site of `model` (each block's four, then the output layer's)
    /// over `windows` and writes them to `path` atomically with `provenance` in the metadata.
    /// `progress(block, blocks)` after every block.
    public static func collect(
        _ model: Decoder, windows: [[Int]], provenance: [String: String], to path: String,
        cancel: CancellationToken? = nil, progress: ((Int, Int) -> Void)? = nil
    ) throws {
        let c = model.config
        let allSites = (0...c.blocks).flatMap { model.sites(block: $0) }
        let layers = Dictionary(
            uniqueKeysWithValues: allSites.flatMap { s in s.weights.map { ($0, "hessian." + s.name) } })
        var meta = provenance
        meta["format"] = HessianFileCalibration.formatName
        meta["format_version"] = HessianFileCalibration.formatVersion
        meta["layers"] = String(
            decoding: try JSONSerialization.data(withJSONObject: layers, options: [.sortedKeys]), as: UTF8.self)
        let writer = try SafetensorsStreamWriter(
            path: path, tensors: allSites.map { ("hessian." + $0.name, [$0.width, $0.width]) }, metadata: meta)
        let x = try model.embed(windows)
        for b in 0...c.blocks {
            try cancel?.check()
            let sites = model.sites(block: b)
            let sums = Dictionary(uniqueKeysWithValues: sites.map { ($0.name, HessianSum(width: $0.width)) })
            let observe: SiteObserver = { site, input, rows in sums[site.name]!.add(input, rows: rows) }
            if b < c.blocks {
                try model.runBlock(b, on: x, observer: observe, cancel: cancel)
            } else {
                let normed = FloatBuffer(x.length * x.width)
                for w in 0..<x.windows {
                    model.finalNormed(x, window: w, into: normed.pointer)
                    observe(sites[0], normed.pointer, x.length)
                }
            }
            for site in sites {
                try sums[site.name]!.hessian(windows: windows.count).withUnsafeBufferPointer { try writer.append($0) }
            }
            progress?(b + 1, c.blocks + 1)
        }
        try writer.finish()
    }
}

/// Σ x xᵀ over the rows of a site's inputs, and the Hessian H = (2 / N) · Σ x xᵀ for N windows. Only the
/// upper triangle is accumulated (a symmetric rank-k update: half the products of X ᵀX), mirrored once at
/// the end.
final class HessianSum {
    let width: Int
    private let sum: FloatBuffer

    init(width: Int) {
        self.width = width
        sum = FloatBuffer(width * width)
    }

    /// Σ += Xᵀ X for X [rows, width] (upper triangle), on all cores.
    func add(_ x: UnsafePointer<Float>, rows: Int) {
        BLAS.withThreads(Kernels.cores) {
            BLAS.syrkUpperAtA(n: width, k: rows, a: x, c: sum.pointer, beta: 1)
        }
    }

    /// H = (2 / windows) · Σ, symmetric, row-major.
    func hessian(windows: Int) -> [Float] {
        let n = width
        let scale = 2 / Float(windows)
        var h = [Float](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in i..<n {
                let v = sum.pointer[i * n + j] * scale
                h[i * n + j] = v
                h[j * n + i] = v
            }
        }
        return h
    }
}
