// Whether some or every lane of an eight-lane mask is set, as one test of the whole vector:
//
//     some:   w₀ | w₁ | w₂ | w₃ ≠ 0          every:  w₀ & w₁ & w₂ & w₃ = 2⁶⁴ − 1
//
// where w₀…w₃ are the mask's 256 bits read as four 64-bit words (a set lane is 32 one bits, a clear lane
// 32 zero bits). Comparing the mask with a constant one (`mask == .init(repeating: false)`) asks the same,
// but inside the GPTQ column loop the compiler leaves that comparison as a loop over the lanes, one branch
// per lane; the words have no loop to leave, and become one `vptest` (or a few SSE2 instructions).

extension SIMDMask where Storage == SIMD8<Int32> {
    /// True when at least one lane is set.
    @inline(__always)
    var someSet: Bool {
        let w = unsafeBitCast(self, to: (UInt64, UInt64, UInt64, UInt64).self)
        return (w.0 | w.1 | w.2 | w.3) != 0
    }

    /// True when every lane is set.
    @inline(__always)
    var everySet: Bool {
        let w = unsafeBitCast(self, to: (UInt64, UInt64, UInt64, UInt64).self)
        return (w.0 & w.1 & w.2 & w.3) == .max
    }
}
