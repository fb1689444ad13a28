// Bytes of a whole model whose linear layers are stored in SpQR's format and every other tensor (embedding,
// norms, a separate output layer) at fp16:
//
//     bytes(SpQR)  = ⌈Σ_layers storage bits / 8⌉ + 2 · kept parameters     (BitCost.storage)
//     bytes(fp16)  = 2 · (quantized + kept parameters)
//
// quantize-model reports these totals and `allocate` meets a byte target ("fit in 24 GB") against the first.

/// Model sizes in bytes.
public enum ModelSize {
    /// Quantized layers at their exact storage (`storageBits` summed over them), kept tensors at fp16.
    public static func spqrBytes(storageBits: Int, keptParameters: Int) -> Int {
        (storageBits + 7) / 8 + 2 * keptParameters
    }

    /// Every parameter at fp16.
    public static func fp16Bytes(parameters: Int) -> Int { 2 * parameters }
}
