// Where the Hessian comes from on the command line.

import ArgumentParser
import SpQRCore

struct CalibrationOptions: ParsableArguments {
    @Option(
        name: [.customLong("hessian"), .customLong("hessians")],
        help: "Hessian file (docs/hessian-format.md), or a safetensors file holding the layer's [in, in] Hessian.")
    var hessian: String?

    @Option(
        name: [.customLong("hessian-tensor"), .customLong("hessian_tensor")],
        help: "Tensor in the Hessian file (default: the one that fits the layer).")
    var hessianTensor: String?

    @Option(
        name: [.customLong("activations")],
        help: "Calibration inputs X [n, in] or [batch, seq, in] (.npy or safetensors); H = 2XᵀX/n.")
    var activations: String?

    @Option(
        name: [.customLong("activations-tensor"), .customLong("activations_tensor")],
        help: "Tensor in the activations file.")
    var activationsTensor: String?

    @Option(name: [.customLong("imatrix")], help: "llama.cpp importance matrix (.imatrix, legacy or GGUF): diagonal H.")
    var imatrix: String?

    func validate() throws {
        if [hessian, activations, imatrix].compactMap({ $0 }).count > 1 {
            throw ValidationError("give one of --hessian, --activations and --imatrix")
        }
    }

    /// The calibration source chosen (none given: data-free, H = I).
    func source() throws -> any CalibrationSource {
        try ModelFiles.openCalibration(
            hessians: hessian, hessianTensor: hessianTensor, activations: activations,
            activationsTensor: activationsTensor, imatrix: imatrix)
    }
}
