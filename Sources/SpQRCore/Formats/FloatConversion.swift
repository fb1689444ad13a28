// Conversion between Float and the little-endian float encodings of model files, each format described
// once in both directions:
//
//   F32   copied bit for bit                               both ways
//   F16   IEEE 754 binary16 → binary32 exactly (every half is a float); binary32 → binary16 rounded to
//         nearest, ties to even (IEEE 754 default; PyTorch's `.half()`): overflow gives ±inf, tiny values
//         become binary16 subnormals or ±0, NaN stays NaN
//   BF16  bfloat16: the top 16 bits of a binary32, so y = bits << 16 (exact); binary32 → bfloat16 rounded
//         to nearest, ties to even: (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16, the carry turning values
//         past the largest bfloat16 into ±inf; NaN keeps its sign and top payload bits with the quiet bit
//         set (PyTorch's `round_to_nearest_even`, c10/util/BFloat16.h)
//   F64   rounded to nearest binary32; binary32 → binary64 exactly
//
// and the reading of such elements from a file a chunk at a time into their destination, so that a
// tensor is converted without a second whole-tensor buffer and without a memory map (`FileBytes`).

import Foundation

/// Conversion of little-endian float encodings to Float, without per-element allocation.
public enum FloatConversion {
    /// Converts `raw` holding elements of `dtype` (F64, F32, F16 or BF16; other types give an empty array).
    public static func toFloat(_ raw: UnsafeRawBufferPointer, dtype: SafetensorsDType) -> [Float] {
        guard dtype.isFloat else { return [] }
        let count = raw.count / dtype.size
        return [Float](unsafeUninitializedCapacity: count) { out, initialized in
            convert(raw, dtype: dtype, count: count, into: out.baseAddress!)
            initialized = count
        }
    }

    /// Converts the first `count` elements of `raw` into `out`.
    static func convert(
        _ raw: UnsafeRawBufferPointer, dtype: SafetensorsDType, count: Int, into out: UnsafeMutablePointer<Float>
    ) {
        guard count > 0, let base = raw.baseAddress else { return }
        switch dtype {
        case .F32:
            #if _endian(little)
                UnsafeMutableRawPointer(out).copyMemory(from: base, byteCount: 4 * count)
            #else
                for i in 0..<count {
                    out[i] = Float(
                        bitPattern: UInt32(littleEndian: base.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                }
            #endif
        case .F16:
            for i in 0..<count {
                out[i] = Float(
                    Float16(
                        bitPattern: UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
            }
        case .BF16:
            for i in 0..<count {
                out[i] = Float(
                    bitPattern: UInt32(UInt16(littleEndian: base.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                        << 16)
            }
        case .F64:
            for i in 0..<count {
                out[i] = Float(
                    Double(bitPattern: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self)))
                )
            }
        default:
            preconditionFailure("FloatConversion.convert called with \(dtype)")
        }
    }

    /// Encodes `values` as little-endian `dtype` (F64, F32, F16 or BF16) into `out`, which holds
    /// `values.count × dtype.size` bytes.
    public static func encode(
        _ values: UnsafeBufferPointer<Float>, as dtype: SafetensorsDType, into out: UnsafeMutableRawBufferPointer
    ) {
        precondition(dtype.isFloat && out.count >= values.count * dtype.size, "encode \(values.count) as \(dtype)")
        guard let base = out.baseAddress else { return }
        switch dtype {
        case .F32:
            for (i, x) in values.enumerated() {
                base.storeBytes(of: x.bitPattern.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
            }
        case .F16:
            for (i, x) in values.enumerated() {
                base.storeBytes(of: Float16(x).bitPattern.littleEndian, toByteOffset: 2 * i, as: UInt16.self)
            }
        case .BF16:
            for (i, x) in values.enumerated() {
                base.storeBytes(of: bfloat16Bits(x).littleEndian, toByteOffset: 2 * i, as: UInt16.self)
            }
        case .F64:
            for (i, x) in values.enumerated() {
                base.storeBytes(of: Double(x).bitPattern.littleEndian, toByteOffset: 8 * i, as: UInt64.self)
            }
        default:
            preconditionFailure("FloatConversion.encode called with \(dtype)")
        }
    }

    /// Encodes `values` as little-endian `dtype` a chunk at a time, handing each chunk's bytes to `body` (so
    /// that a whole tensor is written without a second whole-tensor buffer).
    public static func encode(
        _ values: [Float], as dtype: SafetensorsDType, chunks body: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let chunk = min(values.count, FileBytes.conversionChunk)
        guard chunk > 0 else { return }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk * dtype.size, alignment: 8)
        defer { buffer.deallocate() }
        try values.withUnsafeBufferPointer { all in
            var done = 0
            while done < all.count {
                let n = min(chunk, all.count - done)
                let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(n * dtype.size)])
                encode(UnsafeBufferPointer(rebasing: all[done..<(done + n)]), as: dtype, into: piece)
                try body(UnsafeRawBufferPointer(piece))
                done += n
            }
        }
    }

    /// `x` rounded to the nearest bfloat16, ties to even, as its bits.
    public static func bfloat16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: bits >> 16) | 0x0040 }
        return UInt16(truncatingIfNeeded: (bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }
}

extension FileBytes {
    /// Elements per chunk when converting from the file.
    static let conversionChunk = 1 << 20

    /// Reads `count` elements of `dtype` (F32, F16, BF16 or F64) starting at byte `offset` and converts
    /// them into `out`; `what` names them in errors. F32 is read straight into `out`; the other types
    /// go through one reused buffer of `conversionChunk` elements.
    func readFloats(
        at offset: Int, count: Int, dtype: SafetensorsDType, into out: UnsafeMutablePointer<Float>, what: String
    ) throws {
        precondition(dtype.isFloat, "readFloats of \(dtype)")
        guard count > 0 else { return }
        #if _endian(little)
            if dtype == .F32 {
                try read(at: offset, into: UnsafeMutableRawBufferPointer(start: out, count: 4 * count), what: what)
                return
            }
        #endif
        let chunk = min(count, Self.conversionChunk)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk * dtype.size, alignment: 8)
        defer { buffer.deallocate() }
        var done = 0
        while done < count {
            let n = min(chunk, count - done)
            let raw = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<(n * dtype.size)])
            try read(at: offset + done * dtype.size, into: raw, what: what)
            FloatConversion.convert(UnsafeRawBufferPointer(raw), dtype: dtype, count: n, into: out + done)
            done += n
        }
    }
}
