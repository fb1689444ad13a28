// Opening the files a user points the explorer at: checkpoints (a safetensors file, a directory of
// shards or its index, a GGUF file) and calibration data (a Hessian file, activations, an importance
// matrix, none). Files are told apart by their first bytes; names only break ties and shape messages.

import Foundation

/// Entry points that pick the right reader for a path.
public enum ModelFiles {
    /// What a file's first bytes say it is.
    enum Content {
        case gguf, npy, safetensors, unknown
    }

    /// Classifies a file by its magic bytes (safetensors: an 8-byte header length then `{`).
    static func content(of path: String) -> Content {
        guard let h = FileHandle(forReadingAtPath: path) else { return .unknown }
        defer { try? h.close() }
        guard let head = try? h.read(upToCount: 9) else { return .unknown }
        if head.starts(with: Array("GGUF".utf8)) { return .gguf }
        if head.starts(with: [0x93] + Array("NUMPY".utf8)) { return .npy }
        if head.count == 9, head[head.startIndex + 8] == UInt8(ascii: "{") { return .safetensors }
        return .unknown
    }

    /// Opens a checkpoint: a directory (a Hugging Face SpQR checkpoint when its config.json says
    /// quant_method "spqr"; else sharded with `model.safetensors.index.json`, or holding `.safetensors` files), the index file itself, a GGUF file, or a safetensors file. Only headers are
    /// read; tensors load on demand through `Checkpoint.matrix`.
    public static func openCheckpoint(_ path: String) throws -> any Checkpoint {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SpQRError(.io, "\(path): no such file or directory")
        }
        if isDirectory.boolValue && SpQRHFCheckpoint.isSpQRDirectory(path) {
            return try SpQRHFCheckpoint(path: path)
        }
        if isDirectory.boolValue || path.hasSuffix(".index.json") {
            return try SafetensorsDirectoryCheckpoint(path: path)
        }
        switch content(of: path) {
        case .gguf:
            return try GGUFCheckpoint(path: path)
        case .safetensors:
            return try SafetensorsCheckpoint(path: path)
        case .npy:
            throw SpQRError(
                .fileFormat, "\(path): a NumPy array, not a checkpoint; pass activations with --activations")
        case .unknown:
            if path.hasSuffix(".gguf") { return try GGUFCheckpoint(path: path) }
            do {
                return try SafetensorsCheckpoint(path: path)
            } catch let e as SpQRError where e.kind == .fileFormat && !path.hasSuffix(".safetensors") {
                throw SpQRError(
                    .fileFormat,
                    "\(path): neither a GGUF file (no \"GGUF\" magic) nor a safetensors file (\(e.message.dropFirst(path.count + 2)))"
                )
            }
        }
    }

    /// The calibration source for the options given; none given means data-free (H = I). A Hessian file
    /// in our format (with a `layers` map) is looked up by layer; any other safetensors file needs the
    /// matrix to be named or to be the only one that fits. Activations are .npy or safetensors; an
    /// importance matrix is llama.cpp's legacy `.imatrix` or its GGUF form.
    public static func openCalibration(
        hessians: String? = nil, hessianTensor: String? = nil,
        activations: String? = nil, activationsTensor: String? = nil,
        imatrix: String? = nil
    ) throws -> any CalibrationSource {
        let given = [hessians, activations, imatrix].compactMap { $0 }
        if given.count > 1 {
            throw SpQRError(
                .invalidSetting,
                "give one calibration source (a Hessian file, activations or an importance matrix), not \(given.count)")
        }
        for path in given where !FileManager.default.fileExists(atPath: path) {
            throw SpQRError(.io, "\(path): no such file")
        }
        if let path = hessians {
            switch content(of: path) {
            case .gguf:
                throw SpQRError(.invalidSetting, "\(path): a GGUF file; pass an importance matrix with --imatrix")
            case .npy: throw SpQRError(.invalidSetting, "\(path): a NumPy array; pass activations with --activations")
            default: break
            }
            let st = try SafetensorsFile(path: path)
            if st.metadata["format"] == HessianFileCalibration.formatName || st.metadata["layers"] != nil {
                return try HessianFileCalibration(path: path, tensor: hessianTensor)
            }
            return try SafetensorsMatrixCalibration(path: path, tensor: hessianTensor)
        }
        if let path = activations { return try ActivationsCalibration(path: path, tensor: activationsTensor) }
        if let path = imatrix { return try ImportanceMatrixCalibration(path: path) }
        return IdentityCalibration()
    }

    /// The files a checkpoint reads (for hashing into recipes).
    public static func files(of checkpoint: any Checkpoint) -> [String] {
        Array(Set(checkpoint.tensors.map(\.file))).sorted()
    }
}
