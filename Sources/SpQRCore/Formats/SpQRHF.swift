// Packing a full SpQR run into the Hugging Face SpQR format (layout and decoding in SpQRHFLayer.swift), and
// the `quantization_config` object of its config.json. The format holds one configuration only (the one
// the reference kernels exist for): wbits 3, groupsize 16, perchannel, asymmetric, qq_scale_bits 3,
// qq_zero_bits 3, asymmetric second level, qq_groupsize 16, no round_zero; out and in multiples of 16 and
// in ≤ 32768.
//
// Codes are recovered from the run's statistics and dequantized weights: a statistic x of a row is
// ss·(q − sz) in float32, so q = round(x / ss + sz) (`MinMaxQuantizer.code`); a weight code is the nearest
// code q = clamp(round(w / s + z), 0, 7), which is GPTQ's own code for every weight that is not an outlier.
// An outlier keeps the nearest code and stores the residual w − ŵ16 (ŵ16 the fp16 dense value there),
// since the kernels add the stored value to the dense one. Second-order scales and zeros are rounded to
// fp16. Sources: transformers `SpQRConfig`; Vahe1994/SpQR `convert_to_hf.py` and `inference_lib`.

/// The Hugging Face SpQR format (`quant_method: "spqr"`): what it can hold, packing, config.json.
public enum SpQRHF {
    /// The only settings the format holds, as (setting, required value).
    static let required: [(Setting, SettingValue)] = [
        (.wbits, .integer(3)), (.groupsize, .integer(16)), (.perchannel, .boolean(true)), (.sym, .boolean(false)),
        (.qqScaleBits, .integer(3)), (.qqZeroBits, .integer(3)), (.qqZeroSym, .boolean(false)),
        (.qqGroupsize, .integer(16)), (.roundZero, .boolean(false)),
    ]

    /// Largest input width the kernels take (columns are 16-bit indices into a shared-memory copy of x).
    public static let maxInFeatures = 32768

    /// Refuses every configuration but the one the format holds, naming each setting that differs.
    public static func check(_ config: SpQRConfig) throws {
        let wrong = required.filter { $0.0.value(in: config) != $0.1 }
        guard !wrong.isEmpty else { return }
        let list = wrong.map { setting, value in
            "\(setting.name) \(setting.text(of: value)) (given \(setting.text(of: setting.value(in: config))))"
        }
        throw SpQRError(
            .unsupported,
            "spqr-hf stores only " + list.joined(separator: ", ")
                + "; choose these settings (the SpQR README's 3-bit recipe) to write this format")
    }

    /// Refuses a layer shape the format cannot hold: out and in must be positive multiples of 16, in ≤ 32768.
    public static func check(rows: Int, cols: Int, name: String) throws {
        var problems: [String] = []
        if rows <= 0 || rows % SpQRHFTile.size != 0 { problems.append("out \(rows) is not a positive multiple of 16") }
        if cols <= 0 || cols % SpQRHFTile.size != 0 { problems.append("in \(cols) is not a positive multiple of 16") }
        if cols > maxInFeatures { problems.append("in \(cols) exceeds \(maxInFeatures)") }
        guard !problems.isEmpty else { return }
        throw SpQRError(
            .unsupported,
            "\(name): spqr-hf needs out and in multiples of 16 and in ≤ \(maxInFeatures), but "
                + problems.joined(separator: " and ") + "; leave this layer unquantized or choose another output format"
        )
    }

    /// Packs a full (non-preview) SpQR run at the supported configuration.
    public static func pack(_ result: SpQRResult, name: String = "layer") throws -> SpQRHFLayer {
        try check(result.config)
        let m = result.outFeatures
        let n = result.inFeatures
        try check(rows: m, cols: n, name: name)
        guard !result.isPreview else {
            throw SpQRError(
                .invalidSetting,
                "\(name): a preview covers \(result.rowIndices.count) of \(m) rows; run SpQR on the whole layer to write it"
            )
        }
        let stats = result.statistics
        let perm = result.permutation
        let t = SpQRHFTile.size
        guard perm.count == n, stats.groupsize == t, stats.qqGroupsize == t, stats.qqScale.count == (n / t) * (m / t),
            stats.qqZero.count == stats.qqScale.count
        else {
            throw SpQRError(.invalidSetting, "\(name): internal: the run's statistics do not match its settings")
        }
        func fail(_ what: String) -> SpQRError {
            SpQRError(.nonFinite, "\(name): \(what) does not fit fp16; spqr-hf stores fp16 statistics and outliers")
        }
        let weights = result.dequantized.values
        var dense = [UInt64](repeating: 0, count: m * n / 16)
        var outliers = [[Int32]](repeating: [], count: m)
        for tr in 0..<(m / t) {
            for tc in 0..<(n / t) {
                let block = tc * (m / t) + tr
                let qs = stats.qqScale[block]
                let qz = stats.qqZero[block]
                let (ss, sz, zs, zz) = (Float16(qs.scale), Float16(qs.zero), Float16(qz.scale), Float16(qz.zero))
                guard ss.isFinite, sz.isFinite, zs.isFinite, zz.isFinite else {
                    throw fail("the second-order statistics of rows \(tr * t)…, columns \(tc * t)…")
                }
                let secondOrder = SpQRHFTile.secondOrderWord(ss: ss, zs: zs, sz: sz, zz: zz)
                for r in 0..<t {
                    let row = tr * t + r
                    let scale = stats.scales[tc * m + row]
                    let zero = stats.zeros[tc * m + row]
                    let scaleCode = UInt64(qs.code(scale))
                    let zeroCode = UInt64(qz.code(zero))
                    let s16 = SpQRHFTile.dequantize(scaleCode, ss, sz)
                    let z16 = SpQRHFTile.dequantize(zeroCode, zs, zz)
                    var codes = [UInt64](repeating: 0, count: t)
                    for l in 0..<t {
                        let j = tc * t + l
                        let index = row * n + perm[j]
                        let w = weights[index]
                        let nearest = scale > 0 ? (w / scale + zero).rounded(.toNearestOrEven) : zero.rounded()
                        let code = UInt64(Swift.min(Swift.max(nearest.isFinite ? nearest : 0, 0), 7))
                        codes[l] = code
                        if result.outlierMask[index] != 0 {
                            let residual = Float16(w - Float(SpQRHFTile.dequantize(code, s16, z16)))
                            guard residual.isFinite else { throw fail("the outlier at row \(row), column \(perm[j])") }
                            outliers[row].append(Int32(bitPattern: UInt32(residual.bitPattern) << 16 | UInt32(j)))
                        }
                    }
                    dense[(tr * (n / t) + tc) * t + r] = SpQRHFTile.word(
                        scaleCode: scaleCode, zeroCode: zeroCode, codes: codes,
                        secondOrderByte: SpQRHFTile.secondOrderByte(secondOrder, row: r))
                }
            }
        }
        var offsets: [Int32] = [0]
        for row in outliers { offsets.append(offsets.last! + Int32(row.count)) }
        let inPerm = (0..<(n / 2)).map { Int32(bitPattern: UInt32(perm[2 * $0]) | UInt32(perm[2 * $0 + 1]) << 16) }
        return try SpQRHFLayer(
            rows: m, cols: n, denseWeights: dense, rowOffsets: offsets, colVals: outliers.flatMap { $0 },
            inPerm: inPerm, name: name)
    }

    /// The four tensor suffixes of a quantized module, in the order they are written.
    public static let tensorSuffixes = ["dense_weights", "row_offsets", "col_vals", "in_perm"]

    /// The lengths of a module's four tensors, in `tensorSuffixes` order.
    static func lengths(_ layer: SpQRHFLayer) -> [Int] {
        [layer.denseWeights.count, layer.rowOffsets.count, layer.colVals.count, layer.inPerm.count]
    }

    /// The lengths of the four tensors of an [m, n] module with `outliers` outliers: m·n/16, m + 1, outliers, n/2.
    public static func lengths(rows m: Int, cols n: Int, outliers: Int) -> [Int] {
        [m * n / SpQRHFTile.size, m + 1, outliers, n / 2]
    }

    /// Exact storage in bits of a module whose four tensors have `lengths` (`tensorSuffixes` order): 64 per
    /// dense word, 32 per row offset, outlier and in_perm entry.
    public static func storageBits(lengths: [Int]) -> Int {
        64 * lengths[0] + 32 * (lengths[1] + lengths[2] + lengths[3])
    }

    /// The `quantization_config` object of config.json: quant_method "spqr", bits 3, beta1 16, beta2 16,
    /// `modules_to_not_convert` = `notConverted` (full weight names) with "lm_head.weight" added when absent,
    /// and `shapes` = for every module, "<module>.<suffix>.shape" → the length of that tensor.
    /// - Parameter shapes: per quantized module (name without ".weight"), its four lengths in `tensorSuffixes` order.
    public static func quantizationConfig(shapes: [String: [Int]], notConverted: [String]) -> [String: Any] {
        var shapeMap: [String: Int] = [:]
        for (module, lengths) in shapes {
            for (suffix, length) in zip(tensorSuffixes, lengths) { shapeMap["\(module).\(suffix).shape"] = length }
        }
        var skipped = notConverted
        if !skipped.contains("lm_head.weight") { skipped.append("lm_head.weight") }
        return [
            "quant_method": "spqr", "bits": 3, "beta1": SpQRHFTile.size, "beta2": SpQRHFTile.size,
            "modules_to_not_convert": skipped, "shapes": shapeMap,
        ]
    }
}
