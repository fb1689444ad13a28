// Opening the files a user points the explorer at: checkpoints (a safetensors file, a directory of
// shards, a GGUF file) and calibration data (a Hessian file, activations, an importance matrix, none).

import Foundation

/// Entry points that pick the right reader for a path.
public enum ModelFiles {
    /// Opens a checkpoint: a directory (sharded or single safetensors), a GGUF file, or a safetensors file
    /// (told apart by their first bytes, not their names).
    public static func openCheckpoint(_ path: String) throws -> any Checkpoint {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SpQRError(.io, "\(path): no such file or directory")
        }
        if isDirectory.boolValue { return try SafetensorsDirectoryCheckpoint(path: path) }
        if let h = FileHandle(forReadingAtPath: path), let head = try? h.read(upToCount: 4), head == Data("GGUF".utf8) {
            return try GGUFCheckpoint(path: path)
        }
        return try SafetensorsCheckpoint(path: path)
    }

    /// The calibration source for the options given; none given means data-free (H = I). A Hessian file
    /// in our format (with a `layers` map) is looked up by layer; any other safetensors file needs the
    /// matrix to be named or to be the only one that fits.
    public static func openCalibration(hessians: String? = nil, hessianTensor: String? = nil,
                                       activations: String? = nil, activationsTensor: String? = nil,
                                       imatrix: String? = nil) throws -> any CalibrationSource {
        let given = [hessians, activations, imatrix].compactMap { $0 }
        if given.count > 1 {
            throw SpQRError(.invalidSetting, "give one calibration source (a Hessian file, activations or an importance matrix), not \(given.count)")
        }
        if let path = hessians {
            let st = try SafetensorsFile(path: path)
            if st.metadata["format"] == "spqr-explorer-hessians" || st.metadata["layers"] != nil {
                return try HessianFileCalibration(path: path, tensor: hessianTensor)
            }
            return try SafetensorsMatrixCalibration(path: path, tensor: hessianTensor, kind: .hessian)
        }
        if let path = activations {
            guard FileManager.default.fileExists(atPath: path) else { throw SpQRError(.io, "\(path): no such file") }
            return ActivationsCalibration(path: path, tensor: activationsTensor)
        }
        if let path = imatrix { return try ImportanceMatrixCalibration(path: path) }
        return IdentityCalibration()
    }

    /// The files a checkpoint reads (for hashing into recipes).
    public static func files(of checkpoint: any Checkpoint) -> [String] {
        Array(Set(checkpoint.tensors.map(\.file))).sorted()
    }
}
