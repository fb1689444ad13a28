// Dequantization of ggml tensor types to Float (ggml-quants.c, dequantize_row_*; block layouts in
// ggml-common.h). d, m, dmin are fp16. Per block of 32 (legacy types) or 256 (k-quants):
//
//   Q8_0  [d, 32×i8]                 y = d·q
//   Q4_0  [d, 16 B]                  y_j = d·((qs_j & 15) − 8),   y_{j+16} = d·((qs_j >> 4) − 8)
//   Q4_1  [d, m, 16 B]               y_j = d·(qs_j & 15) + m,     y_{j+16} = d·(qs_j >> 4) + m
//   Q5_0  [d, qh u32, 16 B]          fifth bit from qh (bit j, bit j+16); y = d·(q − 16)
//   Q5_1  [d, m, qh u32, 16 B]       y = d·q + m
//   Q4_K  [d, dmin, 12 B scales, 128 B qs]          8 sub-blocks of 32 with 6-bit scale and min:
//                                                   y = d·sc·q − dmin·m
//   Q5_K  [d, dmin, 12 B scales, 32 B qh, 128 B qs] as Q4_K with a fifth bit from qh
//   Q6_K  [128 B ql, 64 B qh, 16×i8 scales, d]      y = d·sc·(q − 32), q 6 bits from ql and qh
//
// Q2_K and Q3_K are decoded in GGMLKQuants.swift, the i-quants (IQ1_S … IQ4_XS) in GGMLIQuants.swift
// with the tables of GGMLGrids.swift, TQ1_0, TQ2_0, MXFP4 and NVFP4 in GGMLTernaryFP4.swift.
// F32, F16, BF16 and F64 are converted element by element. The arithmetic follows dequantize_row_* in
// the same order (products formed in float32 as there), so results agree with llama.cpp and gguf-py's
// gguf.quants.dequantize bit for bit; the tests check that against fixtures gguf-py wrote.

import Dispatch
import Foundation

enum GGMLDequantize {
    @inline(__always) static func f16(_ p: UnsafeRawPointer, _ at: Int) -> Float {
        Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt16.self))))
    }

    @inline(__always) static func scaleMin(_ j: Int, _ q: UnsafePointer<UInt8>) -> (Float, Float) {
        if j < 4 { return (Float(q[j] & 63), Float(q[j + 4] & 63)) }
        return (Float((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4)), Float((q[j + 4] >> 4) | ((q[j] >> 6) << 4)))
    }

    /// Converts `count` elements of `type` (a supported one) to Float.
    static func toFloat(_ raw: UnsafeRawBufferPointer, type: GGMLType, count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { out, initialized in
            if let base = out.baseAddress { convert(raw, type: type, count: count, into: base) }
            initialized = count
        }
    }

    /// Converts `count` elements of `type` (a supported one) into `out`.
    static func convert(
        _ raw: UnsafeRawBufferPointer, type: GGMLType, count: Int, into out: UnsafeMutablePointer<Float>
    ) {
        guard count > 0, let base = raw.baseAddress else { return }
        switch type {
        case .F32: FloatConversion.convert(raw, dtype: .F32, count: count, into: out)
        case .F16: FloatConversion.convert(raw, dtype: .F16, count: count, into: out)
        case .BF16: FloatConversion.convert(raw, dtype: .BF16, count: count, into: out)
        case .F64: FloatConversion.convert(raw, dtype: .F64, count: count, into: out)
        default:
            // Blocks are independent: tensors of half a million weights or more are split over the cores
            // in contiguous runs of blocks (the output is the only memory written).
            let blocks = count / type.blockSize
            let src = SharedPointer(UnsafeMutableRawPointer(mutating: base).assumingMemoryBound(to: UInt8.self))
            let dst = SharedPointer(out)
            let parts = count >= 1 << 19 ? ProcessInfo.processInfo.activeProcessorCount : 1
            DispatchQueue.concurrentPerform(iterations: parts) { part in
                for b in (blocks * part / parts)..<(blocks * (part + 1) / parts) {
                    block(UnsafeRawPointer(src.base + b * type.bytesPerBlock), type, dst.base + b * type.blockSize)
                }
            }
        }
    }

    static func block(_ p: UnsafeRawPointer, _ type: GGMLType, _ y: UnsafeMutablePointer<Float>) {
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        switch type {
        case .Q8_0:
            let d = f16(p, 0)
            for j in 0..<32 { y[j] = d * Float(Int8(bitPattern: bytes[2 + j])) }
        case .Q4_0:
            let d = f16(p, 0)
            let qs = bytes + 2
            for j in 0..<16 {
                y[j] = d * Float(Int(qs[j] & 0xF) - 8)
                y[j + 16] = d * Float(Int(qs[j] >> 4) - 8)
            }
        case .Q4_1:
            let d = f16(p, 0)
            let m = f16(p, 2)
            let qs = bytes + 4
            for j in 0..<16 {
                y[j] = d * Float(qs[j] & 0xF) + m
                y[j + 16] = d * Float(qs[j] >> 4) + m
            }
        case .Q5_0:
            let d = f16(p, 0)
            let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
            let qs = bytes + 6
            for j in 0..<16 {
                let h0 = UInt8(((qh >> UInt32(j)) << 4) & 0x10)
                let h1 = UInt8((qh >> UInt32(j + 12)) & 0x10)
                y[j] = d * Float(Int((qs[j] & 0xF) | h0) - 16)
                y[j + 16] = d * Float(Int((qs[j] >> 4) | h1) - 16)
            }
        case .Q5_1:
            let d = f16(p, 0)
            let m = f16(p, 2)
            let qh = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            let qs = bytes + 8
            for j in 0..<16 {
                let h0 = UInt8(((qh >> UInt32(j)) << 4) & 0x10)
                let h1 = UInt8((qh >> UInt32(j + 12)) & 0x10)
                y[j] = d * Float((qs[j] & 0xF) | h0) + m
                y[j + 16] = d * Float((qs[j] >> 4) | h1) + m
            }
        case .Q4_K:
            let d = f16(p, 0)
            let dmin = f16(p, 2)
            let scales = bytes + 4
            var q = bytes + 16
            var out = y
            var s = 0
            for _ in 0..<4 {
                let (sc1, m1) = scaleMin(s, scales)
                let (sc2, m2) = scaleMin(s + 1, scales)
                let d1 = d * sc1
                let mm1 = dmin * m1
                let d2 = d * sc2
                let mm2 = dmin * m2
                for l in 0..<32 { out[l] = d1 * Float(q[l] & 0xF) - mm1 }
                for l in 0..<32 { out[32 + l] = d2 * Float(q[l] >> 4) - mm2 }
                out += 64
                q += 32
                s += 2
            }
        case .Q5_K:
            let d = f16(p, 0)
            let dmin = f16(p, 2)
            let scales = bytes + 4
            let qh = bytes + 16
            var ql = bytes + 48
            var out = y
            var s = 0
            var u1: UInt8 = 1
            var u2: UInt8 = 2
            for _ in 0..<4 {
                let (sc1, m1) = scaleMin(s, scales)
                let (sc2, m2) = scaleMin(s + 1, scales)
                let d1 = d * sc1
                let mm1 = dmin * m1
                let d2 = d * sc2
                let mm2 = dmin * m2
                for l in 0..<32 { out[l] = d1 * Float(Int(ql[l] & 0xF) + (qh[l] & u1 != 0 ? 16 : 0)) - mm1 }
                for l in 0..<32 { out[32 + l] = d2 * Float(Int(ql[l] >> 4) + (qh[l] & u2 != 0 ? 16 : 0)) - mm2 }
                out += 64
                ql += 32
                s += 2
                u1 <<= 2
                u2 <<= 2
            }
        case .Q6_K:
            let d = f16(p, 208)
            var ql = bytes
            var qh = bytes + 128
            var out = y
            var sc = UnsafeRawPointer(bytes + 192).assumingMemoryBound(to: Int8.self)
            for _ in 0..<2 {
                for l in 0..<32 {
                    let s = l / 16
                    let q1 = Int((ql[l] & 0xF) | ((qh[l] >> 0) & 3) << 4) - 32
                    let q2 = Int((ql[l + 32] & 0xF) | ((qh[l] >> 2) & 3) << 4) - 32
                    let q3 = Int((ql[l] >> 4) | ((qh[l] >> 4) & 3) << 4) - 32
                    let q4 = Int((ql[l + 32] >> 4) | ((qh[l] >> 6) & 3) << 4) - 32
                    out[l] = d * Float(sc[s]) * Float(q1)
                    out[l + 32] = d * Float(sc[s + 2]) * Float(q2)
                    out[l + 64] = d * Float(sc[s + 4]) * Float(q3)
                    out[l + 96] = d * Float(sc[s + 6]) * Float(q4)
                }
                out += 128
                ql += 64
                qh += 32
                sc += 8
            }
        case .Q2_K: q2K(p, y)
        case .Q3_K: q3K(p, y)
        case .IQ2_XXS: iq2XXS(p, y)
        case .IQ2_XS: iq2XS(p, y)
        case .IQ2_S: iq2S(p, y)
        case .IQ3_XXS: iq3XXS(p, y)
        case .IQ3_S: iq3S(p, y)
        case .IQ1_S: iq1S(p, y)
        case .IQ1_M: iq1M(p, y)
        case .IQ4_NL: iq4NL(p, y)
        case .IQ4_XS: iq4XS(p, y)
        case .TQ1_0: tq1_0(p, y)
        case .TQ2_0: tq2_0(p, y)
        case .MXFP4: mxfp4(p, y)
        case .NVFP4: nvfp4(p, y)
        default:
            preconditionFailure("GGMLDequantize.block called with \(type)")
        }
    }
}
