// Min–max uniform quantization of a group of weights, and of the group statistics themselves.
//
//     xmin = min x, xmax = max x                       (0 is not forced into the range)
//     sym:  xmax = max(|xmin|, xmax); xmin = −xmax if xmin < 0
//     xmin = xmax  ⇒  xmin = −1, xmax = +1              (reference quirk, reproduced)
//     maxq = 2^bits − 1;  scale = (xmax − xmin) / maxq
//     zero = (maxq + 1) / 2 if sym, else −xmin / scale (rounded only with round_zero)
//     q = clamp(round(x / max(scale, 1e-9) + zero), 0, maxq)   round half to even (2²³ trick, below)
//     x̂ = scale · (q − zero)
//
// Second level (SpQR §3.3): the [out] vector of scales (and of zero points) of one column group is cut
// into blocks of qq_groupsize consecutive rows, and each block is quantized by its own asymmetric min–max
// quantizer with a fractional zero point; the statistics are replaced by their dequantized values.
// Source: reference `quant_groups.py` (`Quantizer.find_params`, `quantize`, `dequantize`).

/// One min–max quantizer: a scale and a (possibly fractional) zero point.
public struct MinMaxQuantizer: Sendable, Equatable {
    public var scale: Float
    public var zero: Float
    /// 2^bits − 1.
    public var maxq: Float

    public init(scale: Float, zero: Float, maxq: Float) {
        self.scale = scale
        self.zero = zero
        self.maxq = maxq
    }

    /// The reference's parameter fit from the range of the values.
    @inline(__always)
    public init(xmin: Float, xmax: Float, bits: Int, sym: Bool, roundZero: Bool) {
        let maxq = Float((1 << bits) - 1)
        var lo = xmin
        var hi = xmax
        if sym {
            hi = Swift.max(abs(lo), hi)
            if lo < 0 { lo = -hi }
        }
        if lo == hi {
            lo = -1
            hi = 1
        }
        let scale = (hi - lo) / maxq
        let zero: Float
        if sym {
            zero = (maxq + 1) / 2
        } else {
            let z = -lo / scale
            zero = roundZero ? z.rounded(.toNearestOrEven) : z
        }
        self.init(scale: scale, zero: zero, maxq: maxq)
    }

    /// Fits the quantizer to the values of `x` (min–max over all of them).
    public init(fitting x: UnsafeBufferPointer<Float>, bits: Int, sym: Bool, roundZero: Bool) {
        var lo = Float.infinity
        var hi = -Float.infinity
        for v in x {
            lo = Swift.min(lo, v)
            hi = Swift.max(hi, v)
        }
        self.init(xmin: lo, xmax: hi, bits: bits, sym: sym, roundZero: roundZero)
    }

    /// The integer code of x.
    @inline(__always)
    public func code(_ x: Float) -> Float {
        let q = Self.roundedHalfEven(x / Swift.max(scale, 1e-9) + zero)
        return Swift.min(Swift.max(q, 0), maxq)
    }

    /// x rounded to the nearest integer, ties to even: the same value as `x.rounded(.toNearestOrEven)`
    /// (signed zeros and NaN included), by adding and subtracting 2²³ below 2²³, where the float spacing
    /// is 1 and the addition rounds ties to even; from 2²³ on every float is an integer. Plain arithmetic,
    /// so loops over it vectorise on every x86-64, where the library call `rintf` stops them.
    @inline(__always)
    static func roundedHalfEven(_ x: Float) -> Float {
        let magnitude = abs(x)
        let twoTo23: Float = 8_388_608
        let rounded = magnitude < twoTo23 ? (magnitude + twoTo23) - twoTo23 : magnitude
        return Float(signOf: x, magnitudeOf: rounded)
    }

    /// x quantized and dequantized: scale · (code(x) − zero).
    @inline(__always)
    public func callAsFunction(_ x: Float) -> Float {
        scale * (code(x) - zero)
    }
}

extension MinMaxQuantizer {
    /// Fits an asymmetric (or `sym`) min–max quantizer with a fractional zero point to one block of
    /// statistics, replaces the block by its dequantized values and returns the quantizer.
    @inline(__always)
    static func quantizeBlock(_ block: UnsafeMutableBufferPointer<Float>, bits: Int, sym: Bool) -> MinMaxQuantizer {
        let q = MinMaxQuantizer(fitting: UnsafeBufferPointer(block), bits: bits, sym: sym, roundZero: false)
        for k in block.indices { block[k] = q(block[k]) }
        return q
    }
}
