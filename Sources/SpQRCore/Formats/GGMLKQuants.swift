// Dequantization of the 2- and 3-bit k-quants (ggml-quants.c dequantize_row_q2_K, dequantize_row_q3_K;
// block layouts block_q2_K, block_q3_K in ggml-common.h). Super-blocks of 256 weights in 16 sub-blocks of
// 16; d and dmin are fp16; element e lies in sub-block e/16, half h = e/128, and within its half at
// lane l = e%32 of the 2-bit plane s = (e%128)/32:
//
//   Q2_K  [16 B scales, 64 B qs, d, dmin]      84 B = 2.625 bits/weight
//         sc = scales[e/16]:  y = (d·(sc & 15))·q − dmin·(sc >> 4),   q = (qs[32h + l] >> 2s) & 3
//   Q3_K  [32 B hmask, 64 B qs, 12 B scales, d]  110 B = 3.4375 bits/weight
//         6-bit signed scales: low 4 bits from scales[0..<8] (nibble i/8 of byte i%8), high 2 bits
//         from scales[8 + i%4] >> 2(i/4);  y = (d·(sc − 32))·(q − 4·(1 − hbit)),
//         q = (qs[32h + l] >> 2s) & 3,  hbit = (hmask[l] >> (e/32)) & 1
//
// Products are formed in float32 in the order dequantize_row_* (and gguf-py's Q2_K/Q3_K) form them, so
// the values agree bit for bit. Every field is an index into the block, never into a table: any bytes
// decode, and NaN or infinite scales propagate as IEEE arithmetic says, as in the reference.

extension GGMLDequantize {
    /// One Q2_K super-block (84 bytes at `p`) to 256 floats at `y`.
    static func q2K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        let scales = bytes
        let qs = bytes + 16
        let d = f16(p, 80)
        let dmin = f16(p, 82)
        for sub in 0..<16 {
            let dl = d * Float(scales[sub] & 0xF)
            let ml = dmin * Float(scales[sub] >> 4)
            let half = sub / 8
            let shift = UInt8(2 * ((sub % 8) / 2))
            let lane0 = (sub % 2) * 16
            for j in 0..<16 {
                let q = (qs[32 * half + lane0 + j] >> shift) & 3
                y[16 * sub + j] = dl * Float(q) - ml
            }
        }
    }

    /// The 6-bit scale of Q3_K sub-block `i` (0..<16), as the signed value sc − 32.
    @inline(__always) static func q3KScale(_ scales: UnsafePointer<UInt8>, _ i: Int) -> Int {
        let low = i < 8 ? scales[i] & 0xF : scales[i - 8] >> 4
        let high = (scales[8 + i % 4] >> UInt8(2 * (i / 4))) & 3
        return Int(low | high << 4) - 32
    }

    /// One Q3_K super-block (110 bytes at `p`) to 256 floats at `y`.
    static func q3K(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        let hmask = bytes
        let qs = bytes + 32
        let scales = bytes + 96
        let d = f16(p, 108)
        for sub in 0..<16 {
            let dl = d * Float(q3KScale(scales, sub))
            let half = sub / 8
            let shift = UInt8(2 * ((sub % 8) / 2))
            let lane0 = (sub % 2) * 16
            let plane = UInt8(sub / 2)
            for j in 0..<16 {
                let lane = lane0 + j
                let low = Int((qs[32 * half + lane] >> shift) & 3)
                let q = low - ((hmask[lane] >> plane) & 1 == 1 ? 0 : 4)
                y[16 * sub + j] = dl * Float(q)
            }
        }
    }
}
