// A Hessian stored as a plain 2-D [in, in] tensor in a safetensors file that is not a Hessian file of
// our format (docs/hessian-format.md): the tensor is named explicitly, or the only square float tensor
// that fits the layer is used.

import Foundation

/// A Hessian [in, in] in a safetensors file without a `layers` map.
public struct SafetensorsMatrixCalibration: CalibrationSource {
    public let file: String?
    public let tensor: String?
    let st: SafetensorsFile

    public var kind: CalibrationKind { .hessian }

    /// Opens the file; a named tensor must exist and be a square float matrix.
    public init(path: String, tensor: String?) throws {
        self.file = path
        self.tensor = tensor
        self.st = try SafetensorsFile(path: path)
        if let tensor {
            let t = try st.info(tensor)
            guard t.dtype?.isFloat == true, t.shape.count == 2, t.shape[0] == t.shape[1] else {
                throw SpQRError(
                    .shapeMismatch,
                    "\(path): Hessian tensor \(tensor) is \(t.dtypeName) \(t.shape); a square float matrix [in, in] is needed"
                )
            }
        }
    }

    public var label: String { "Hessian file \((file! as NSString).lastPathComponent)" }

    public func hessian(forLayer layer: String, inFeatures n: Int) throws -> Matrix {
        let name: String
        if let tensor {
            name = tensor
        } else {
            let fits = st.tensors.filter { $0.dtype?.isFloat == true && $0.shape == [n, n] }.sorted {
                $0.name < $1.name
            }
            guard fits.count == 1 else {
                throw SpQRError(
                    .fileFormat,
                    "\(st.path): \(fits.isEmpty ? "no" : "\(fits.count)") tensors are \(n)x\(n) Hessians for layer \(layer)"
                        + (fits.isEmpty ? "" : " (\(fits.map(\.name).joined(separator: ", ")))")
                        + "; name one with --hessian-tensor")
            }
            name = fits[0].name
        }
        let t = try st.info(name)
        guard t.shape == [n, n] else {
            throw SpQRError(
                .shapeMismatch,
                "\(st.path): Hessian \(name) is \(t.shape.map(String.init).joined(separator: "x")) but layer \(layer) has \(n) inputs"
            )
        }
        return try st.matrix(name)
    }
}
