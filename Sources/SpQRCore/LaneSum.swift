// A Double sum of many terms in eight lanes, in an order fixed by the terms' positions alone:
//
//     S = ((s₀ + s₁) + (s₂ + s₃)) + ((s₄ + s₅) + (s₆ + s₇)),    s_l = Σ_{k ≡ l (mod 8)} t_k   in increasing k
//
// where k is the term's position: its column in a row-wise sum (rows one after another, every row starting
// at lane 0), its index in a flat one. One eight-lane add takes the place of eight dependent scalar adds,
// whose latency, not memory, bounds a sequential sum over a layer; the figures read from a run's maps
// (ErrorFigures.swift, `SpQR.proxyNumerator`) are summed this way. The order depends on no thread count, so
// the figures keep their bits from run to run, and each lane adds an eighth of the terms, so the rounding
// error's bound is that of a sequential sum over n/8 terms, plus three additions.

/// Eight running Double sums and their combination in the fixed order above.
public struct LaneSum {
    /// s₀ … s₇.
    public private(set) var lanes = SIMD8<Double>()

    public init() {}

    /// Adds the terms at positions 8i … 8i + 7, lane l taking position 8i + l.
    @inline(__always)
    public mutating func add(_ terms: SIMD8<Double>) { lanes += terms }

    /// Adds the term at a position p with p mod 8 = `lane`.
    @inline(__always)
    public mutating func add(_ term: Double, lane: Int) { lanes[lane] += term }

    /// S.
    public var total: Double {
        ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))
    }
}
