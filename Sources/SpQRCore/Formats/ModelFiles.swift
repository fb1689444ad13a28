// Opening the files a user points the explorer at: checkpoints and calibration data.

/// Entry points that pick the right reader for a path.
public enum ModelFiles {
    /// Opens a checkpoint (a safetensors file).
    public static func openCheckpoint(_ path: String) throws -> any Checkpoint {
        try SafetensorsCheckpoint(path: path)
    }

    /// The calibration source for the options given; none given means data-free (H = I).
    public static func openCalibration(hessians: String? = nil, hessianTensor: String? = nil,
                                       activations: String? = nil, activationsTensor: String? = nil) throws -> any CalibrationSource {
        if hessians != nil && activations != nil {
            throw SpQRError(.invalidSetting, "give either a Hessian file or activations, not both")
        }
        if let path = hessians { return try SafetensorsMatrixCalibration(path: path, tensor: hessianTensor, kind: .hessian) }
        if let path = activations { return try SafetensorsMatrixCalibration(path: path, tensor: activationsTensor, kind: .activations) }
        return IdentityCalibration()
    }
}
