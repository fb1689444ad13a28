// Dequantization of the i-quants (ggml-quants.c dequantize_row_iq*; block layouts in ggml-common.h;
// grids in GGMLGrids.swift). Super-blocks of 256 weights (IQ4_NL: blocks of 32) in eight groups of 32
// (ib); d is fp16 (IQ1_M: assembled from the top nibbles of its four scale words). Grid entries hold
// 8 (or 4) magnitudes, one per byte; a sign byte gives bit j set → weight j negated.
//
//   IQ2_XXS [d, 8 × (u32 grid indices, u32 signs·scale)]  db = d·(0.5 + (a₁ >> 28))·0.25,
//           4 × 8 weights db·iq2xxs_grid[byte l of a₀]·sign(ksigns[(a₁ >> 7l) & 127])
//   IQ2_XS  [d, 32 × u16, 8 B scales]   q & 511 → iq2xs_grid, q >> 9 → ksigns; db = d·(0.5 + nibble)·0.25
//           per 16 weights
//   IQ2_S   [d, 32 B qs, 32 B signs, 8 B qh, 8 B scales]  index qs | 2 bits of qh << 8 → iq2s_grid
//   IQ3_XXS [d, 64 B qs, 8 × u32 signs·scale]  db = d·(0.5 + (a >> 28))·0.5, iq3xxs_grid (4 per entry)
//   IQ3_S   [d, 64 B qs, 8 B qh, 32 B signs, 4 B scales]  db = d·(1 + 2·nibble), index qs | 1 bit << 8
//   IQ1_S   [d, 32 B qs, 8 × u16 qh]  dl = d·(2·((qh >> 12) & 7) + 1), δ = ∓0.125 by bit 15,
//           y = dl·(iq1s_grid[qs | 3 bits of qh << 8] + δ)
//   IQ1_M   [32 B qs, 16 B qh, 4 × u16 scales]  3-bit scale per 16 weights, δ per 8 from bit 3 of qh's nibble
//   IQ4_NL  [d, 16 B qs]  y = d·kvalues_iq4nl[nibble]
//   IQ4_XS  [d, u16 scales_h, 4 B scales_l, 128 B qs]  6-bit scale − 32 per 32 weights, kvalues_iq4nl
//
// Products are formed in float32 in the order of dequantize_row_* and gguf-py's dequantize_blocks, so the
// values agree bit for bit. Every grid index is in range by construction: it is a byte (256-entry grids),
// a byte plus 1, 2 or 3 high bits masked from qh (512, 1024 and 2048 entries), q & 511 (512), a 7-bit
// sign index (128) or a nibble (16); GGMLQuantTypesTests pins each table's length to those widths, so any
// bytes decode without a range check failing.

extension GGMLDequantize {
    @inline(__always) static func u16(_ p: UnsafeRawPointer, _ at: Int) -> UInt16 {
        UInt16(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt16.self))
    }

    @inline(__always) static func u32(_ p: UnsafeRawPointer, _ at: Int) -> UInt32 {
        UInt32(littleEndian: p.loadUnaligned(fromByteOffset: at, as: UInt32.self))
    }

    /// Byte `j` of a grid entry as an unsigned magnitude.
    @inline(__always) static func gridByte<G: FixedWidthInteger>(_ g: G, _ j: Int) -> Float {
        Float(UInt8(truncatingIfNeeded: g >> (8 * j)))
    }

    /// `n` weights `db · grid byte j · ±1`, bit j of `signs` set meaning −1 (the i-quants' sign rule).
    @inline(__always) static func signed<G: FixedWidthInteger>(
        _ db: Float, _ g: G, _ signs: UInt8, _ n: Int, _ y: UnsafeMutablePointer<Float>
    ) {
        for j in 0..<n { y[j] = db * gridByte(g, j) * (signs >> UInt8(j) & 1 == 1 ? -1 : 1) }
    }

    static func iq2XXS(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 0)
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        GGMLGrids.iq2xxs.withUnsafeBufferPointer { grid in
            GGMLGrids.ksigns.withUnsafeBufferPointer { ksigns in
                for ib in 0..<8 {
                    let a1 = u32(p, 2 + 8 * ib + 4)
                    let db = d * (0.5 + Float(a1 >> 28)) * 0.25
                    for l in 0..<4 {
                        signed(
                            db, grid[Int(bytes[2 + 8 * ib + l])], ksigns[Int((a1 >> UInt32(7 * l)) & 127)], 8,
                            y + 32 * ib + 8 * l)
                    }
                }
            }
        }
    }

    static func iq2XS(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 0)
        let scales = p.assumingMemoryBound(to: UInt8.self) + 66
        GGMLGrids.iq2xs.withUnsafeBufferPointer { grid in
            GGMLGrids.ksigns.withUnsafeBufferPointer { ksigns in
                for ib in 0..<8 {
                    let db0 = d * (0.5 + Float(scales[ib] & 0xF)) * 0.25
                    let db1 = d * (0.5 + Float(scales[ib] >> 4)) * 0.25
                    for l in 0..<4 {
                        let q = u16(p, 2 + 2 * (4 * ib + l))
                        signed(l < 2 ? db0 : db1, grid[Int(q & 511)], ksigns[Int(q >> 9)], 8, y + 32 * ib + 8 * l)
                    }
                }
            }
        }
    }

    static func iq2S(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 0)
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        let qs = bytes + 2
        let signs = bytes + 34
        let qh = bytes + 66
        let scales = bytes + 74
        GGMLGrids.iq2s.withUnsafeBufferPointer { grid in
            for ib in 0..<8 {
                let db0 = d * (0.5 + Float(scales[ib] & 0xF)) * 0.25
                let db1 = d * (0.5 + Float(scales[ib] >> 4)) * 0.25
                for l in 0..<4 {
                    let k = 4 * ib + l
                    let index = Int(qs[k]) | Int((qh[ib] >> UInt8(2 * l)) & 3) << 8
                    signed(l < 2 ? db0 : db1, grid[index], signs[k], 8, y + 8 * k)
                }
            }
        }
    }

    static func iq3XXS(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 0)
        let qs = p.assumingMemoryBound(to: UInt8.self) + 2
        GGMLGrids.iq3xxs.withUnsafeBufferPointer { grid in
            GGMLGrids.ksigns.withUnsafeBufferPointer { ksigns in
                for ib in 0..<8 {
                    let a = u32(p, 66 + 4 * ib)
                    let db = d * (0.5 + Float(a >> 28)) * 0.5
                    for l in 0..<4 {
                        let s = ksigns[Int((a >> UInt32(7 * l)) & 127)]
                        signed(db, grid[Int(qs[8 * ib + 2 * l])], s, 4, y + 32 * ib + 8 * l)
                        signed(db, grid[Int(qs[8 * ib + 2 * l + 1])], s >> 4, 4, y + 32 * ib + 8 * l + 4)
                    }
                }
            }
        }
    }

    static func iq3S(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 0)
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        let qs = bytes + 2
        let qh = bytes + 66
        let signs = bytes + 74
        let scales = bytes + 106
        GGMLGrids.iq3s.withUnsafeBufferPointer { grid in
            for ib in 0..<8 {
                let db = d * Float(1 + 2 * Int((scales[ib / 2] >> UInt8(4 * (ib % 2))) & 0xF))
                for l in 0..<4 {
                    let k = 8 * ib + 2 * l
                    let i1 = Int(qs[k]) | Int((qh[ib] >> UInt8(2 * l)) & 1) << 8
                    let i2 = Int(qs[k + 1]) | Int((qh[ib] >> UInt8(2 * l + 1)) & 1) << 8
                    signed(db, grid[i1], signs[4 * ib + l], 4, y + 32 * ib + 8 * l)
                    signed(db, grid[i2], signs[4 * ib + l] >> 4, 4, y + 32 * ib + 8 * l + 4)
                }
            }
        }
    }

    /// Eight IQ1 weights `dl · (grid byte j as a signed −1/0/1 + delta)`.
    @inline(__always) static func iq1Group(_ dl: Float, _ g: UInt64, _ delta: Float, _ y: UnsafeMutablePointer<Float>) {
        for j in 0..<8 { y[j] = dl * (Float(Int8(truncatingIfNeeded: g >> UInt64(8 * j))) + delta) }
    }

    /// IQ1_S and IQ1_M's shift of the grid values (ggml-common.h IQ1S_DELTA, IQ1M_DELTA).
    static let iq1Delta: Float = 0.125

    static func iq1S(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 0)
        let qs = p.assumingMemoryBound(to: UInt8.self) + 2
        GGMLGrids.iq1s.withUnsafeBufferPointer { grid in
            for ib in 0..<8 {
                let qh = u16(p, 34 + 2 * ib)
                let dl = d * Float(2 * Int((qh >> 12) & 7) + 1)
                let delta = qh & 0x8000 != 0 ? -iq1Delta : iq1Delta
                for l in 0..<4 {
                    iq1Group(
                        dl, grid[Int(qs[4 * ib + l]) | Int((qh >> UInt16(3 * l)) & 7) << 8], delta, y + 32 * ib + 8 * l)
                }
            }
        }
    }

    /// IQ1_M's fp16 super-block scale: the top nibble of each of its four scale words.
    @inline(__always) static func iq1MScale(_ p: UnsafeRawPointer) -> Float {
        let bits =
            (u16(p, 48) >> 12) | ((u16(p, 50) >> 8) & 0x00F0) | ((u16(p, 52) >> 4) & 0x0F00) | (u16(p, 54) & 0xF000)
        return Float(Float16(bitPattern: bits))
    }

    static func iq1M(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        let qs = bytes
        let qh = bytes + 32
        let d = iq1MScale(p)
        GGMLGrids.iq1s.withUnsafeBufferPointer { grid in
            for ib in 0..<8 {
                let sc = u16(p, 48 + 2 * (ib / 2))
                let shift = UInt16(6 * (ib % 2))
                let dl1 = d * Float(2 * Int((sc >> shift) & 7) + 1)
                let dl2 = d * Float(2 * Int((sc >> (shift + 3)) & 7) + 1)
                for l in 0..<4 {
                    let h = qh[2 * ib + l / 2] >> UInt8(4 * (l % 2))
                    let delta = h & 8 != 0 ? -iq1Delta : iq1Delta
                    iq1Group(l < 2 ? dl1 : dl2, grid[Int(qs[4 * ib + l]) | Int(h & 7) << 8], delta, y + 32 * ib + 8 * l)
                }
            }
        }
    }

    /// 32 weights `dl · kvalues[nibble]`: the low nibbles of 16 bytes, then their high nibbles.
    @inline(__always) static func nibbles(
        _ dl: Float, _ qs: UnsafePointer<UInt8>, _ kvalues: UnsafeBufferPointer<Int8>,
        _ y: UnsafeMutablePointer<Float>
    ) {
        for j in 0..<16 {
            y[j] = dl * Float(kvalues[Int(qs[j] & 0xF)])
            y[j + 16] = dl * Float(kvalues[Int(qs[j] >> 4)])
        }
    }

    static func iq4NL(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 0)
        GGMLGrids.kvaluesIQ4NL.withUnsafeBufferPointer { nibbles(d, p.assumingMemoryBound(to: UInt8.self) + 2, $0, y) }
    }

    static func iq4XS(_ p: UnsafeRawPointer, _ y: UnsafeMutablePointer<Float>) {
        let d = f16(p, 0)
        let scalesH = u16(p, 2)
        let bytes = p.assumingMemoryBound(to: UInt8.self)
        let scalesL = bytes + 4
        let qs = bytes + 8
        GGMLGrids.kvaluesIQ4NL.withUnsafeBufferPointer { kvalues in
            for ib in 0..<8 {
                let low = (scalesL[ib / 2] >> UInt8(4 * (ib % 2))) & 0xF
                let high = UInt8(truncatingIfNeeded: scalesH >> UInt16(2 * ib)) & 3
                let dl = d * Float(Int(low | high << 4) - 32)
                nibbles(dl, qs + 16 * ib, kvalues, y + 32 * ib)
            }
        }
    }
}
