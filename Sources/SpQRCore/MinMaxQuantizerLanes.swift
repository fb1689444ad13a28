// Eight min–max quantizers side by side, one per SIMD lane (one output row each), for the group fits of
// the GPTQ loop (GPTQ.swift), which fit one quantizer per row and group:
//
//     lane i:  the MinMaxQuantizer (MinMaxQuantizer.swift) of its own xmin_i, xmax_i
//              scale_i = (xmax_i − xmin_i) / maxq, zero_i = −xmin_i / scale_i, q = clamp(round(x / scale_i + zero_i))
//
// Every lane performs the scalar quantizer's IEEE operations in the scalar's order, negates by flipping the
// sign bit, and makes every comparison the way Swift's `min`/`max` make it (`min(a, b)` is `b < a ? b : a`,
// `max(a, b)` is `b >= a ? b : a`), so each lane's scale, zero and dequantized values are the same bits as
// `MinMaxQuantizer`'s (signed zeros, infinities and NaN included). Only the number of values handled per
// instruction changes.

/// Eight `MinMaxQuantizer`s in the lanes of SIMD vectors.
struct MinMaxQuantizerLanes {
    var scale: SIMD8<Float>
    var zero: SIMD8<Float>
    /// 2^bits − 1, shared by the lanes.
    let maxq: Float

    @inline(always)
    init(scale: SIMD8<Float>, zero: SIMD8<Float>, maxq: Float) {
        self.scale = scale
        self.zero = zero
        self.maxq = maxq
    }

    /// The reference's parameter fit from each lane's range (`MinMaxQuantizer.init(xmin:xmax:…)`).
    @inline(always)
    init(xmin: SIMD8<Float>, xmax: SIMD8<Float>, bits: Int, sym: Bool, roundZero: Bool) {
        let maxq = Float((1 << bits) - 1)
        var lo = xmin
        var hi = xmax
        if sym {
            let magnitude = Self.magnitude(lo)
            hi.replace(with: magnitude, where: .!(hi .>= magnitude))
            lo.replace(with: Self.negated(hi), where: lo .< 0)
        }
        let flat = lo .== hi
        lo.replace(with: -1, where: flat)
        hi.replace(with: 1, where: flat)
        let scale = (hi - lo) / maxq
        if sym {
            zero = SIMD8(repeating: (maxq + 1) / 2)
        } else {
            let z = Self.negated(lo) / scale
            zero = roundZero ? Self.roundedHalfEven(z) : z
        }
        self.scale = scale
        self.maxq = maxq
    }

    /// Fits each lane to the values `x[0..<count]` of that lane (`MinMaxQuantizer.init(fitting:…)`).
    @inline(always)
    init(fitting x: UnsafePointer<SIMD8<Float>>, count: Int, bits: Int, sym: Bool, roundZero: Bool) {
        var lo = SIMD8<Float>(repeating: .infinity)
        var hi = SIMD8<Float>(repeating: -.infinity)
        for k in 0..<count {
            let v = x[k]
            lo.replace(with: v, where: v .< lo)
            hi.replace(with: v, where: v .>= hi)
        }
        self.init(xmin: lo, xmax: hi, bits: bits, sym: sym, roundZero: roundZero)
    }

    /// x quantized and dequantized in every lane: scale · (clamp(round(x / max(scale, 10⁻⁹) + zero), 0, maxq) − zero).
    @inline(always)
    func callAsFunction(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let floor = SIMD8<Float>(repeating: 1e-9)
        var divisor = scale
        divisor.replace(with: floor, where: floor .>= scale)
        var q = Self.roundedHalfEven(x / divisor + zero)
        q.replace(with: 0, where: 0 .>= q)
        q.replace(with: maxq, where: maxq .< q)
        return scale * (q - zero)
    }

    /// −x in every lane: the sign bit flipped, as scalar negation does (SIMD's prefix − computes 0 − x,
    /// which turns +0 into +0 instead of −0).
    @inline(always)
    static func negated(_ x: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(unsafeBitCast(x, to: SIMD8<UInt32>.self) ^ 0x8000_0000, to: SIMD8<Float>.self)
    }

    /// |x| in every lane (the sign bit cleared, as `Float.magnitude`).
    @inline(always)
    static func magnitude(_ x: SIMD8<Float>) -> SIMD8<Float> {
        unsafeBitCast(magnitudeBits(x), to: SIMD8<Float>.self)
    }

    @inline(always)
    static func magnitudeBits(_ x: SIMD8<Float>) -> SIMD8<UInt32> {
        unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF
    }

    /// `MinMaxQuantizer.roundedHalfEven` in every lane: below 2²³, (|x| + 2²³) − 2²³ with x's sign.
    @inline(always)
    static func roundedHalfEven(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let twoTo23 = SIMD8<Float>(repeating: 8_388_608)
        let magnitude = Self.magnitude(x)
        var rounded = (magnitude + twoTo23) - twoTo23
        rounded.replace(with: magnitude, where: .!(magnitude .< twoTo23))
        let sign = unsafeBitCast(x, to: SIMD8<UInt32>.self) & 0x8000_0000
        return unsafeBitCast(Self.magnitudeBits(rounded) | sign, to: SIMD8<Float>.self)
    }
}
