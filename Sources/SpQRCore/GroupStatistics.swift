// The statistics SpQR stores for every column group: per output row a scale and a zero point (the
// dequantized values of their second-level codes), and per block of qq_groupsize rows the second-level
// quantizers of each statistic. Source: SpQR paper §3.3 and reference `quant_groups.py`.

/// Group statistics of one quantized layer, in processing (permuted) column order.
public struct GroupStatistics: Sendable {
    /// Input columns per group (the last group may be shorter).
    public let groupsize: Int
    /// Number of column groups, ⌈in / groupsize⌉.
    public let groupCount: Int
    /// Output rows.
    public let rows: Int
    /// Rows per second-level block.
    public let qqGroupsize: Int
    /// scales[group * rows + row]: the scale used for that row and group (after second-level quantization).
    public internal(set) var scales: [Float]
    /// zeros[group * rows + row]: the zero point used (after second-level quantization).
    public internal(set) var zeros: [Float]
    /// Second-level quantizers of the scales, [group * qqBlockCount + block]; empty when qq_scale_bits is unset.
    public internal(set) var qqScale: [MinMaxQuantizer]
    /// Second-level quantizers of the zero points; empty when they are not quantized.
    public internal(set) var qqZero: [MinMaxQuantizer]

    /// ⌈rows / qq_groupsize⌉ (the last block may be partial).
    public var qqBlockCount: Int { (rows + qqGroupsize - 1) / qqGroupsize }

    init(groupsize: Int, inFeatures: Int, rows: Int, qqGroupsize: Int, qqScale: Bool, qqZero: Bool) {
        self.groupsize = groupsize
        self.groupCount = (inFeatures + groupsize - 1) / groupsize
        self.rows = rows
        self.qqGroupsize = qqGroupsize
        scales = [Float](repeating: 0, count: groupCount * rows)
        zeros = [Float](repeating: 0, count: groupCount * rows)
        let blocks = groupCount * ((rows + qqGroupsize - 1) / qqGroupsize)
        let none = MinMaxQuantizer(scale: 0, zero: 0, maxq: 0)
        self.qqScale = qqScale ? [MinMaxQuantizer](repeating: none, count: blocks) : []
        self.qqZero = qqZero ? [MinMaxQuantizer](repeating: none, count: blocks) : []
    }

    /// The quantizer used for (row, permuted column).
    public func quantizer(row: Int, permutedColumn: Int, maxq: Float) -> MinMaxQuantizer {
        let g = permutedColumn / groupsize
        return MinMaxQuantizer(scale: scales[g * rows + row], zero: zeros[g * rows + row], maxq: maxq)
    }
}
