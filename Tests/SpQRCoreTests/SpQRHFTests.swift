// The Hugging Face SpQR format: packing a real SpQR run and decoding it (against the run and against a
// decoder written here from the format's description alone) and the refusals of unsupported settings and
// shapes. Directories are tested in SpQRHFDirectoryTests.swift and SpQRHFHostileTests.swift.

import Foundation
import Testing

@testable import SpQRCore

/// A SpQR run at the format's configuration on a real layer (SmolLM2 block 15, with its Hessian) or a
/// synthetic one.
func spqrHFRun(
    layer: String? = nil, out: Int = 64, in n: Int = 128, outlierThreshold: Double = 0.2,
    order: PermutationOrder = .actOrder
) throws -> SpQRResult {
    var config = SpQRConfig()
    config.outlierThreshold = outlierThreshold
    config.permutationOrder = order
    let w: Matrix
    let h: Matrix
    if let layer {
        let c = try ModelFiles.openCheckpoint("\(samplesDirectory)/smollm2-135m-instruct.block15.gguf")
        w = try c.matrix(layer)
        h = try ModelFiles.openCalibration(
            hessians: "\(samplesDirectory)/smollm2-135m-instruct.block15.hessians.safetensors"
        ).hessian(forLayer: layer, inFeatures: w.cols)
    } else {
        (w, h) = syntheticLayer(out: out, in: n, seed: 7)
    }
    let prepared = try PreparedLayer(name: layer ?? "synthetic", weights: w, hessian: h, config: config)
    return try SpQR.run(prepared, config: config)
}

/// The format decoded from the document's description alone: tiles in row-major tile order, 16 words
/// each; word r: bits 0–2 scale code, 3–5 zero code, 6+3l weight code l, 54–61 byte ⌊r/2⌋ of the
/// second-order word [ss, zs, sz, zz] (fp16, little-endian); fp16 steps s = ss·(qs − sz), z = zs·(qz − zz),
/// w = s·(q − z); outliers (CSR, value bits 31–16, permuted column 15–0) added in fp32 and rounded to fp16;
/// in_perm entry i = perm[2i] | perm[2i+1] << 16 and W[:, perm[j]] = W_perm[:, j].
func decodeFromDocument(_ l: SpQRHFLayer) -> [Float] {
    let m = l.rows
    let n = l.cols
    var wp = [Float](repeating: 0, count: m * n)
    for tr in 0..<(m / 16) {
        for tc in 0..<(n / 16) {
            let start = (tr * (n / 16) + tc) * 16
            var second: UInt64 = 0
            for b in 0..<8 {
                let fromEven = (l.denseWeights[start + 2 * b] >> 54) & 0xff
                let fromOdd = (l.denseWeights[start + 2 * b + 1] >> 54) & 0xff
                #expect(fromEven == fromOdd, "byte \(b) of tile (\(tr), \(tc)) differs between its two words")
                second |= fromEven << (8 * UInt64(b))
            }
            let half = { (k: UInt64) in Float16(bitPattern: UInt16((second >> (16 * k)) & 0xffff)) }
            let (ss, zs, sz, zz) = (half(0), half(1), half(2), half(3))
            for r in 0..<16 {
                let word = l.denseWeights[start + r]
                #expect(word >> 62 == 0)
                let s: Float16 = ss * (Float16(word & 7) - sz)
                let z: Float16 = zs * (Float16((word >> 3) & 7) - zz)
                for c in 0..<16 {
                    let q = Float16((word >> (6 + 3 * UInt64(c))) & 7)
                    let w: Float16 = s * (q - z)
                    wp[(16 * tr + r) * n + 16 * tc + c] = Float(w)
                }
            }
        }
    }
    for row in 0..<m {
        for k in Int(l.rowOffsets[row])..<Int(l.rowOffsets[row + 1]) {
            let v = UInt32(bitPattern: l.colVals[k])
            wp[row * n + Int(v & 0xffff)] += Float(Float16(bitPattern: UInt16(v >> 16)))
        }
    }
    var perm: [Int] = []
    for e in l.inPerm {
        perm.append(Int(UInt32(bitPattern: e) & 0xffff))
        perm.append(Int(UInt32(bitPattern: e) >> 16))
    }
    var w = [Float](repeating: 0, count: m * n)
    for row in 0..<m {
        for j in 0..<n { w[row * n + perm[j]] = Float(Float16(wp[row * n + j])) }
    }
    return w
}

/// max |decoded − run| / max |run|, and over the outliers the largest |decoded − w| in units of the bound
/// of one fp16 rounding of the residual r and one of the sum: 2⁻¹¹·(|w| + |r|) + 2⁻²⁵ (half the spacing
/// of fp16 subnormals, which small outliers fall among).
func spqrHFDifference(_ packed: SpQRHFLayer, _ decoded: [Float], _ run: SpQRResult) -> (
    relative: Float, outlierUnits: Float
) {
    let w = run.dequantized.values
    let scale = w.reduce(Float(0)) { max($0, abs($1)) }
    var worst: Float = 0
    for k in w.indices { worst = max(worst, abs(decoded[k] - w[k])) }
    var units: Float = 0
    let n = packed.cols
    for row in 0..<packed.rows {
        for k in Int(packed.rowOffsets[row])..<Int(packed.rowOffsets[row + 1]) {
            let bits = UInt32(bitPattern: packed.colVals[k])
            let at = row * n + run.permutation[Int(bits & 0xffff)]
            #expect(run.outlierMask[at] == 1)
            let residual = Float(Float16(bitPattern: UInt16(bits >> 16)))
            let bound = 0x1p-11 * (abs(w[at]) + abs(residual)) + 0x1p-25
            units = max(units, abs(decoded[at] - w[at]) / bound)
        }
    }
    return (worst / scale, units)
}

@Suite("spqr-hf format: packing and decoding")
struct SpQRHFPackingTests {
    // The packed layer reproduces the run up to fp16: the second-order scales and zeros are rounded to fp16
    // (relative 2⁻¹¹ each) and every step s = ss·(qs − sz), z = zs·(qz − zz), w = s·(q − z) rounds again,
    // so a weight moves by about s·(|q − z| + |z|)·k·2⁻¹¹ with s ≤ 2·max|w|/7 and |q − z|, |z| ≤ 7 in a few
    // ulps: well under 1% of max |w|. Achieved: 7.4e-4 (SmolLM2 k_proj), 6.6e-4 and 8.8e-4 (random layers),
    // pinned at 1e-3 ≈ 2⁻¹⁰; outliers reach 0.93 of their bound. An outlier is stored as the
    // residual from the fp16 dense value and added back then rounded to fp16, so it comes back within
    // one rounding of the residual and one of the sum (`spqrHFDifference`), subnormals included.
    @Test(
        "a SmolLM2 layer packs and decodes to the run's weights within fp16 rounding; the document's decoder agrees bit for bit"
    )
    func realLayer() throws {
        let r = try spqrHFRun(layer: "model.layers.15.self_attn.k_proj.weight")
        let packed = try SpQRHF.pack(r)
        #expect(packed.rows == 192 && packed.cols == 576)
        #expect(packed.denseWeights.count == 192 * 576 / 16 && packed.inPerm.count == 288)
        #expect(packed.outlierCount == r.figures.nOutliers && packed.outlierCount > 0)
        #expect(packed.permutation == r.permutation && r.permutation != Array(0..<576))
        let decoded = packed.dequantized()
        let d = spqrHFDifference(packed, decoded.values, r)
        #expect(d.relative <= 1e-3 && d.relative > 0, "max |Δ| / max |w| = \(d.relative)")
        #expect(d.outlierUnits <= 1, "outliers: max |Δ| / bound = \(d.outlierUnits)")
        #expect(decodeFromDocument(packed).map(\.bitPattern) == decoded.values.map(\.bitPattern))
        #expect(packed.storageBits == 4 * 192 * 576 + 32 * (193 + packed.outlierCount + 288))
    }

    @Test("a random layer with act_order and many outliers: in_perm is not the identity and both decoders agree")
    func randomLayer() throws {
        let r = try spqrHFRun(outlierThreshold: 0.05)
        #expect(r.figures.nOutliers > 20 && r.permutation != Array(0..<128))
        let packed = try SpQRHF.pack(r)
        let decoded = packed.dequantized()
        let d = spqrHFDifference(packed, decoded.values, r)
        #expect(d.relative <= 1e-3 && d.relative > 0, "max |Δ| / max |w| = \(d.relative)")
        #expect(d.outlierUnits <= 1, "outliers: max |Δ| / bound = \(d.outlierUnits)")
        #expect(decodeFromDocument(packed).map(\.bitPattern) == decoded.values.map(\.bitPattern))
        // Outliers are listed per row in increasing permuted column.
        for row in 0..<packed.rows {
            let cols = packed.colVals[Int(packed.rowOffsets[row])..<Int(packed.rowOffsets[row + 1])].map {
                UInt32(bitPattern: $0) & 0xffff
            }
            #expect(cols == cols.sorted() && Set(cols).count == cols.count)
            let expected = (0..<128).filter { r.outlierMask[row * 128 + r.permutation[$0]] != 0 }.map(UInt32.init)
            #expect(cols == expected)
        }
    }

    @Test("without a permutation in_perm is the identity; without outliers the CSR is empty")
    func identityNoOutliers() throws {
        let r = try spqrHFRun(outlierThreshold: .infinity, order: .identity)
        let packed = try SpQRHF.pack(r)
        #expect(packed.permutation == Array(0..<128))
        #expect(packed.colVals.isEmpty && packed.rowOffsets == [Int32](repeating: 0, count: 65))
        let d = spqrHFDifference(packed, packed.dequantized().values, r)
        #expect(d.relative <= 1e-3 && d.relative > 0, "max |Δ| / max |w| = \(d.relative)")
    }

    @Test("a preview run is refused")
    func previewRefused() throws {
        var config = SpQRConfig()
        config.outlierThreshold = 0.2
        let (w, h) = syntheticLayer(out: 64, in: 128, seed: 7)
        let p = try PreparedLayer(name: "x", weights: w, hessian: h, config: config)
        let r = try SpQR.run(p, config: config, rows: Array(0..<16))
        let message = errorMessage(path: "q") { _ = try SpQRHF.pack(r, name: "q") }
        #expect(message == "a preview covers 16 of 64 rows; run SpQR on the whole layer to write it")
    }
}

@Suite("spqr-hf format: refusals")
struct SpQRHFRefusalTests {
    @Test(
        "each unsupported setting is named with the required value",
        arguments: [
            ("wbits", SettingValue.integer(4), "wbits 3 (given 4)"),
            ("groupsize", .integer(128), "groupsize 16 (given 128)"),
            ("groupsize", .none, "groupsize 16 (given none)"),
            ("perchannel", .boolean(false), "perchannel true (given false)"),
            ("sym", .boolean(true), "sym false (given true)"),
            ("qq_scale_bits", .none, "qq_scale_bits 3 (given none)"),
            ("qq_zero_bits", .integer(2), "qq_zero_bits 3 (given 2)"),
            ("qq_zero_sym", .boolean(true), "qq_zero_sym false (given true)"),
            ("qq_groupsize", .integer(32), "qq_groupsize 16 (given 32)"),
            ("round_zero", .boolean(true), "round_zero false (given true)"),
        ])
    func setting(_ name: String, _ value: SettingValue, _ phrase: String) throws {
        var c = SpQRConfig()
        try #require(Setting.named(name)).set(value, in: &c)
        let message = errorMessage(path: "") { try SpQRHF.check(c) }
        #expect(
            message
                == "[does not name the file] spqr-hf stores only \(phrase); choose these settings (the SpQR README's 3-bit recipe) to write this format"
        )
    }

    @Test("several wrong settings are all named; the other settings are free")
    func several() throws {
        var c = SpQRConfig()
        c.wbits = 4
        c.groupsize = 128
        let message = errorMessage(path: "") { try SpQRHF.check(c) }
        #expect(
            message.hasSuffix(
                "spqr-hf stores only wbits 3 (given 4), groupsize 16 (given 128); choose these settings (the SpQR README's 3-bit recipe) to write this format"
            ))
        var free = SpQRConfig()
        free.outlierThreshold = .infinity
        free.permutationOrder = .spearman
        free.percdamp = 0.01
        free.blocksize = 64
        free.simplifiedOutliers = true
        try SpQRHF.check(free)
    }

    @Test(
        "shapes the kernels cannot take are refused with the reason",
        arguments: [
            (100, 64, "out 100 is not a positive multiple of 16"),
            (64, 40, "in 40 is not a positive multiple of 16"),
            (64, 32784, "in 32784 exceeds 32768"),
            (0, 64, "out 0 is not a positive multiple of 16"),
        ])
    func shape(_ rows: Int, _ cols: Int, _ reason: String) throws {
        let message = errorMessage(path: "L") { try SpQRHF.check(rows: rows, cols: cols, name: "L") }
        #expect(
            message
                == "spqr-hf needs out and in multiples of 16 and in ≤ 32768, but \(reason); leave this layer unquantized or choose another output format"
        )
        try SpQRHF.check(rows: 16, cols: 32768, name: "L")
    }
}
