// One linear layer in the Hugging Face SpQR format (`quant_method: "spqr"`, transformers' SpQR integration
// and the reference's `spqr_quant` kernels), and its decoding as the reference's `dequantize_compressed`
// computes it. For out = m, in = n (both multiples of 16):
//
//   dense_weights  m·n/16 uint64: 16×16 tiles in row-major tile order, tile (tr, tc) at word (tr·n/16 + tc)·16;
//                  word r of a tile (output row 16·tr + r, permuted input columns 16·tc …):
//                  bits 0–2 scale code qs, 3–5 zero code qz, 6+3l … 8+3l weight code q_l (l = 0 … 15),
//                  54–61 byte ⌊r/2⌋ of the tile's second-order word, whose little-endian fp16 halves are
//                  [ss, zs, sz, zz] (scale and zero of the scales' quantizer: ss, sz; of the zeros': zs, zz)
//   each step in fp16, rounded to nearest:  s = ss·(qs − sz),  z = zs·(qz − zz),  w = s·(q − z)
//   row_offsets    m + 1 int32, CSR over output rows; col_vals: fp16 bits of a value << 16 | permuted column;
//                  the value is added to w in fp32 and the sum rounded to fp16
//   in_perm        n/2 int32, perm[2i] | perm[2i+1] << 16; W[:, perm[j]] = W_perm[:, j]
//
// Sources: Vahe1994/SpQR `inference_lib` (`tensor_compress_interleaved` packs, `dequantize_compressed`
// decodes, `SecondOrder` orders the halves; its matvec kernels decode the dense part alike and add each
// outlier's product in their fp32 accumulator) and transformers'
// `SpQRConfig` and SpQR integration.

/// The bit layout of `dense_weights`, described once for packing and decoding.
enum SpQRHFTile {
    /// Rows and columns of a tile (the reference's beta1 = beta2 = 16).
    static let size = 16
    /// Bits of every code (wbits = qq_scale_bits = qq_zero_bits = 3).
    static let bits = 3
    static let codeMask: UInt64 = 0b111
    /// Bit where the second-order byte sits in each word: 3 · (16 + 2).
    static let secondOrderShift: UInt64 = 54

    /// The word of one tile row: scale and zero codes, the 16 weight codes and its second-order byte.
    static func word(scaleCode: UInt64, zeroCode: UInt64, codes: [UInt64], secondOrderByte: UInt64) -> UInt64 {
        var w = scaleCode | zeroCode << 3
        for (l, q) in codes.enumerated() { w |= q << UInt64(6 + 3 * l) }
        return w | secondOrderByte << secondOrderShift
    }

    /// The 3-bit field `index` of a word: 0 = scale code, 1 = zero code, 2 + l = weight code of column l.
    @inline(__always)
    static func field(_ word: UInt64, _ index: Int) -> UInt64 { (word >> UInt64(3 * index)) & codeMask }

    /// Byte `row / 2` of the second-order word, as tile row `row` carries it.
    static func secondOrderByte(_ secondOrder: UInt64, row: Int) -> UInt64 {
        (secondOrder >> UInt64(8 * (row / 2))) & 0xff
    }

    /// The second-order word of the tile whose 16 words start at `words`: byte b from words 2b and 2b+1.
    static func secondOrder(_ words: UnsafePointer<UInt64>) -> UInt64 {
        var v: UInt64 = 0
        for r in 0..<size { v |= (words[r] >> secondOrderShift) << UInt64(8 * (r / 2)) }
        return v
    }

    /// The word's four fp16 halves [ss, zs, sz, zz] (low half first).
    static func halves(_ v: UInt64) -> (ss: Float16, zs: Float16, sz: Float16, zz: Float16) {
        (
            Float16(bitPattern: UInt16(truncatingIfNeeded: v)),
            Float16(bitPattern: UInt16(truncatingIfNeeded: v >> 16)),
            Float16(bitPattern: UInt16(truncatingIfNeeded: v >> 32)),
            Float16(bitPattern: UInt16(truncatingIfNeeded: v >> 48))
        )
    }

    /// The word holding the halves [ss, zs, sz, zz].
    static func secondOrderWord(ss: Float16, zs: Float16, sz: Float16, zz: Float16) -> UInt64 {
        UInt64(ss.bitPattern) | UInt64(zs.bitPattern) << 16 | UInt64(sz.bitPattern) << 32 | UInt64(zz.bitPattern) << 48
    }

    /// s·(q − z) with each operation rounded to fp16 (the kernels' `__hmul(s, __hsub(q, z))`).
    @inline(__always)
    static func dequantize(_ q: UInt64, _ s: Float16, _ z: Float16) -> Float16 { s * (Float16(q) - z) }
}

/// One quantized linear layer in the Hugging Face SpQR format (m = `rows` out, n = `cols` in).
public struct SpQRHFLayer: Sendable, Equatable {
    /// Output features m.
    public let rows: Int
    /// Input features n.
    public let cols: Int
    /// m·n/16 words: 16×16 tiles of 3-bit codes, first-order codes and second-order statistics.
    public let denseWeights: [UInt64]
    /// m + 1 CSR offsets into `colVals`.
    public let rowOffsets: [Int32]
    /// One per outlier: fp16 value bits << 16 | permuted column.
    public let colVals: [Int32]
    /// n/2 entries, two 16-bit permutation indices each (identity when no permutation was used).
    public let inPerm: [Int32]

    /// A layer from its four tensors, checked (`check(rows:cols:denseWords:rowOffsets:colVals:inPerm:name:)`);
    /// `name` says where in errors.
    public init(
        rows: Int, cols: Int, denseWeights: [UInt64], rowOffsets: [Int32], colVals: [Int32], inPerm: [Int32],
        name: String = "layer"
    ) throws {
        try Self.check(
            rows: rows, cols: cols, denseWords: denseWeights.count, rowOffsets: rowOffsets, colVals: colVals,
            inPerm: inPerm, name: name)
        self.rows = rows
        self.cols = cols
        self.denseWeights = denseWeights
        self.rowOffsets = rowOffsets
        self.colVals = colVals
        self.inPerm = inPerm
    }

    /// Checks a layer's tensors: shape constraints (`SpQRHF.check(rows:cols:name:)`), lengths, offsets
    /// starting at 0, non-decreasing and ending at the outlier count, every column < n, every outlier value
    /// finite, and `inPerm` a permutation of 0 … n−1.
    public static func check(
        rows m: Int, cols n: Int, denseWords: Int, rowOffsets: [Int32], colVals: [Int32], inPerm: [Int32],
        name: String
    ) throws {
        try SpQRHF.check(rows: m, cols: n, name: name)
        func fail(_ message: String) -> SpQRError { SpQRError(.fileFormat, "\(name): \(message)") }
        guard denseWords == m * n / 16 else {
            throw fail("dense_weights has \(denseWords) words; \(m) × \(n) needs \(m * n / 16)")
        }
        guard rowOffsets.count == m + 1 else {
            throw fail("row_offsets has \(rowOffsets.count) entries; \(m) rows need \(m + 1)")
        }
        guard inPerm.count == n / 2 else {
            throw fail("in_perm has \(inPerm.count) entries; \(n) columns need \(n / 2)")
        }
        guard rowOffsets[0] == 0 else { throw fail("row_offsets starts at \(rowOffsets[0]), not 0") }
        for i in 0..<m where rowOffsets[i + 1] < rowOffsets[i] {
            throw fail("row_offsets decreases at row \(i) (\(rowOffsets[i]) then \(rowOffsets[i + 1]))")
        }
        guard Int(rowOffsets[m]) == colVals.count else {
            throw fail("row_offsets ends at \(rowOffsets[m]) but col_vals has \(colVals.count) entries")
        }
        for (k, cv) in colVals.enumerated() {
            let bits = UInt32(bitPattern: cv)
            let column = Int(bits & 0xffff)
            guard column < n else { throw fail("col_vals[\(k)] names column \(column); the layer has \(n)") }
            let value = Float16(bitPattern: UInt16(bits >> 16))
            guard value.isFinite else { throw fail("col_vals[\(k)] holds a non-finite value \(value)") }
        }
        var seen = [Bool](repeating: false, count: n)
        for (i, pair) in inPerm.enumerated() {
            let bits = UInt32(bitPattern: pair)
            for p in [Int(bits & 0xffff), Int(bits >> 16)] {
                guard p < n, !seen[p] else {
                    throw fail(
                        "in_perm is not a permutation of 0…\(n - 1): entry \(i) holds \(p)\(p < n ? " twice" : " (out of range)")"
                    )
                }
                seen[p] = true
            }
        }
    }

    /// The permutation: W[:, perm[j]] = W_perm[:, j].
    public var permutation: [Int] {
        inPerm.flatMap { pair -> [Int] in
            let bits = UInt32(bitPattern: pair)
            return [Int(bits & 0xffff), Int(bits >> 16)]
        }
    }

    /// Number of outliers.
    public var outlierCount: Int { colVals.count }

    /// Exact storage in bits (`SpQRHF.storageBits`).
    public var storageBits: Int { SpQRHF.storageBits(lengths: SpQRHF.lengths(self)) }

    /// The weights as the reference's `dequantize_compressed` computes them (fp16 steps, outliers added in
    /// fp32 and rounded to fp16), as float32 [out, in] in the original column order.
    public func dequantized() -> Matrix {
        let m = rows
        let n = cols
        let t = SpQRHFTile.size
        var permuted = [Float](repeating: 0, count: m * n)
        denseWeights.withUnsafeBufferPointer { words in
            for tr in 0..<(m / t) {
                for tc in 0..<(n / t) {
                    let base = words.baseAddress! + (tr * (n / t) + tc) * t
                    let (ss, zs, sz, zz) = SpQRHFTile.halves(SpQRHFTile.secondOrder(base))
                    for r in 0..<t {
                        let word = base[r]
                        let s = SpQRHFTile.dequantize(SpQRHFTile.field(word, 0), ss, sz)
                        let z = SpQRHFTile.dequantize(SpQRHFTile.field(word, 1), zs, zz)
                        let out = (tr * t + r) * n + tc * t
                        for l in 0..<t {
                            permuted[out + l] = Float(SpQRHFTile.dequantize(SpQRHFTile.field(word, 2 + l), s, z))
                        }
                    }
                }
            }
        }
        for i in 0..<m {
            for k in Int(rowOffsets[i])..<Int(rowOffsets[i + 1]) {
                let bits = UInt32(bitPattern: colVals[k])
                permuted[i * n + Int(bits & 0xffff)] += Float(Float16(bitPattern: UInt16(bits >> 16)))
            }
        }
        let perm = permutation
        var values = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n { values[i * n + perm[j]] = Float(Float16(permuted[i * n + j])) }
        }
        return Matrix(rows: m, cols: n, values: values)
    }
}
