// Dequantization of the ternary types and the 4-bit floating-point types (ggml-quants.c
// dequantize_row_tq1_0, _tq2_0, _mxfp4, _nvfp4; layouts in ggml-common.h; gguf-py quants.py):
//
//   TQ1_0  [48 B qs, 4 B qh, d]  256 weights, five base-3 digits per byte stored as the fraction
//          byte ≈ 256·v/243: digit n of byte b is ((b·3ⁿ mod 256)·3) >> 8 ∈ {0, 1, 2}; y = d·(digit − 1).
//          Weights 32n + l (n < 5, l < 32) from qs[l], 160 + 16n + l (l < 16) from qs[32 + l],
//          240 + 4n + l (n < 4, l < 4) from qh[l].                          54 B = 1.6875 bits/weight
//   TQ2_0  [64 B qs, d]  y = d·(((qs[32h + l] >> 2s) & 3) − 1) for weight 128h + 32s + l.   2.0625
//   MXFP4  [e8m0 e, 16 B qs]  32 weights y = d·kvalues_mxfp4[nibble] (e2m1 values doubled), with
//          d = 2^(e − 128) as float bits: e < 2 → 0x00200000 << e, otherwise (e − 1) << 23.   4.25
//   NVFP4  [4 × ue4m3 scales, 32 B qs]  64 weights in 4 groups of 16 (8 low nibbles, then 8 high),
//          d = ue4m3/2: 0 for 0x00 and 0x7F, (m/8)·2⁻⁶/2 for exponent 0, (1 + m/8)·2^(e−7)/2
//          otherwise (the top bit is ignored).                                                4.5
//
// All products are float32 in the reference order, so values agree with gguf-py bit for bit. MXFP4 and
// NVFP4 scales are exact powers of two (or small exact multiples) and never NaN; an MXFP4 scale byte of
// 254 or 255 (d = 2¹²⁶, 2¹²⁷) overflows to ±infinity for the larger values, in the reference as here.

extension GGMLDequantize {
    static func tq1_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        let d = f16(p, 52)
        func digit(_ b: UInt8, _ pow3: UInt8) -> Float {
            Float(Int((UInt16(b &* pow3) * 3) >> 8) - 1)
        }
        var pow3: UInt8 = 1
        for n in 0..<5 {
            for l in 0..<32 { y[32 * n + l] = d * digit(bytes[l], pow3) }
            for l in 0..<16 { y[160 + 16 * n + l] = d * digit(bytes[32 + l], pow3) }
            if n < 4 { for l in 0..<4 { y[240 + 4 * n + l] = d * digit(bytes[48 + l], pow3) } }
            pow3 &*= 3
        }
    }

    static func tq2_0(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let qs = p.assumingMemoryBound(to: UInt8.self)
        let d = f16(p, 64)
        for h in 0..<2 {
            for s in 0..<4 {
                for l in 0..<32 { y[128 * h + 32 * s + l] = d * Float(Int((qs[32 * h + l] >> UInt8(2 * s)) & 3) - 1) }
            }
        }
    }

    /// ggml_e8m0_to_fp32_half: half of 2^(e − 127), built from its bits.
    @inline(__always) static func e8m0Half(_ e: UInt8) -> Float {
        Float(bitPattern: e < 2 ? UInt32(0x0020_0000) << UInt32(e) : UInt32(e - 1) << 23)
    }

    static func mxfp4(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        GGMLGrids.kvaluesMXFP4.withUnsafeBufferPointer { nibbles(e8m0Half(bytes[0]), bytes + 1, $0, y) }
    }

    /// An unsigned e4m3 scale halved (gguf-py NVFP4.ue4m3_to_fp32, the kvalues_mxfp4 convention).
    @inline(__always) static func ue4m3Half(_ x: UInt8) -> Float {
        if x == 0 || x == 0x7F { return 0 }
        let exponent = Int((x >> 3) & 0xF)
        let mantissa = Float(x & 7)
        let raw =
            exponent == 0
            ? mantissa * 0x1p-9 : (1 + mantissa / 8) * Float(sign: .plus, exponent: exponent - 7, significand: 1)
        return raw * 0.5
    }

    static func nvfp4(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        GGMLGrids.kvaluesMXFP4.withUnsafeBufferPointer { kvalues in
            for s in 0..<4 {
                let d = ue4m3Half(bytes[s])
                let qs = bytes + 4 + 8 * s
                for j in 0..<8 {
                    y[16 * s + j] = d * Float(kvalues[Int(qs[j] & 0xF)])
                    y[16 * s + 8 + j] = d * Float(kvalues[Int(qs[j] >> 4)])
                }
            }
        }
    }
}
