// Bits per parameter of an SpQR layer: the reference's estimate and the exact storage of our format.
//
// Reference `get_average_number_of_bits` (main.py), with qs = qq_scale_bits or 16, qz = qq_zero_bits or 16,
// g = groupsize (∞ when unset), g2 = qq_groupsize, s = outlier share:
//     without round_zero:  wbits + (qs + qz)/g + 2·(16 + 16)/(g·g2) + 32·s
//     with round_zero:     wbits + (qs + wbits)/g + (16 + 16)/(g·g2) + 32·s
// reported unrounded (the reference rounds to 2 decimals).
//
// Exact storage (reference notes §8): wbits per weight; per (group, row) a scale code (qq_scale_bits, or
// an fp16 scale) and a zero code (qq_zero_bits; wbits when round_zero stores it as an integer code; fp16
// otherwise; nothing when sym fixes it); per (group, qq block) an fp16 scale and fp16 zero for each
// statistic that has a second level; the permutation at 16 bits per input column unless it is the
// identity; outliers in CSR by output row at 32 bits each (fp16 value, 16-bit column) plus one int32 row
// offset per output row.

/// The bit cost of one layer.
public enum BitCost {
    /// The reference formula, unrounded.
    public static func referenceAverageBits(_ c: SpQRConfig, outlierShare: Double) -> Double {
        let qs = Double(c.qqScaleBits ?? 16)
        let qz = Double(c.qqZeroBits ?? 16)
        let g = c.groupsize.map(Double.init) ?? .infinity
        let g2 = Double(c.qqGroupsize)
        let wbits = Double(c.wbits)
        let base: Double
        if c.roundZero {
            base = wbits + (qs + wbits) / g + (16 + 16) / (g * g2)
        } else {
            base = wbits + (qs + qz) / g + 2 * (16 + 16) / (g * g2)
        }
        return base + 32 * outlierShare
    }

    /// The parts of the exact storage, in bits.
    public struct Storage: Sendable, Equatable, Codable {
        public var codes: Int
        public var statistics: Int
        public var secondLevel: Int
        public var permutation: Int
        public var outliers: Int
        /// All parts together.
        public var total: Int { codes + statistics + secondLevel + permutation + outliers }
    }

    /// Exact storage of a [rows, cols] layer with `outliers` outliers.
    public static func storage(_ c: SpQRConfig, rows: Int, cols: Int, outliers: Int) -> Storage {
        let g = c.effectiveGroupsize(inFeatures: cols)
        let groups = (cols + g - 1) / g
        let statRows = c.perchannel ? rows : 1
        let qqBlocks = (statRows + c.qqGroupsize - 1) / c.qqGroupsize
        let scaleBits = c.qqScaleBits ?? 16
        let zeroBits: Int
        if c.sym {
            zeroBits = 0
        } else if c.quantizesZeros {
            zeroBits = c.qqZeroBits!
        } else if c.roundZero {
            zeroBits = c.wbits
        } else {
            zeroBits = 16
        }
        let secondLevelStats = (c.qqScaleBits != nil ? 1 : 0) + (c.quantizesZeros && !c.sym ? 1 : 0)
        return Storage(
            codes: c.wbits * rows * cols,
            statistics: groups * statRows * (scaleBits + zeroBits),
            secondLevel: groups * qqBlocks * secondLevelStats * 32,
            permutation: c.permutationOrder == .identity ? 0 : 16 * cols,
            outliers: outliers > 0 ? 32 * outliers + 32 * rows : 0)
    }
}
