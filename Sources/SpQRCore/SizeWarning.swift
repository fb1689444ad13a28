// When the quantized layer is bigger than fp16: its exact storage per weight (BitCost.swift:
// storage.total / parameters) above 16 bits, i.e. a compression ratio against fp16 below ×1. Each outlier
// costs far more than a quantized weight (its value and its position), so a low outlier_threshold that
// keeps a large share of the weights can make the layer larger than the fp16 it replaces.

/// The warning the explorer and `quantize` show when the settings make a layer bigger than fp16.
public enum SizeWarning {
    /// Bits per weight of fp16, the size a quantized layer must stay under.
    public static let fp16Bits = 16.0

    /// The warning for a layer stored in `storageBitsPerWeight` bits per weight with `outlierFraction` of
    /// its weights kept as outliers; nil when it is not bigger than fp16.
    public static func message(storageBitsPerWeight: Double, outlierFraction: Double) -> String? {
        guard storageBitsPerWeight > fp16Bits else { return nil }
        let ratio = fp16Bits / storageBitsPerWeight
        return String(
            format: "bigger than fp16: %.1f bits per weight (×%.2f of fp16's size) with %.1f%% outliers; "
                + "raise outlier_threshold or lower wbits", storageBitsPerWeight, ratio, 100 * outlierFraction)
    }
}

extension LayerFigures {
    /// The warning when these figures are bigger than fp16 (nil otherwise).
    public var sizeWarning: String? {
        SizeWarning.message(storageBitsPerWeight: storageBitsPerWeight, outlierFraction: outlierFraction)
    }
}
