// Where the Hessian comes from on the command line.

import ArgumentParser
import SpQRCore

struct CalibrationOptions: ParsableArguments {
    @Option(name: [.customLong("hessian"), .customLong("hessians")], help: "Safetensors file holding the layer's [in, in] Hessian.")
    var hessian: String?

    @Option(name: [.customLong("hessian-tensor"), .customLong("hessian_tensor")], help: "Tensor in the Hessian file (default: the one that fits the layer).")
    var hessianTensor: String?

    @Option(name: [.customLong("activations")], help: "Safetensors file with calibration inputs X [n, in]; H = 2XᵀX/n.")
    var activations: String?

    @Option(name: [.customLong("activations-tensor"), .customLong("activations_tensor")], help: "Tensor in the activations file.")
    var activationsTensor: String?

    /// The calibration source chosen (none given: data-free, H = I).
    func source() throws -> any CalibrationSource {
        if hessian != nil && activations != nil {
            throw ValidationError("give either --hessian or --activations, not both")
        }
        return try ModelFiles.openCalibration(hessians: hessian, hessianTensor: hessianTensor,
                                              activations: activations, activationsTensor: activationsTensor)
    }
}

