// A Hessian or calibration activations stored as a plain 2-D tensor in a safetensors file (for files that
// are not Hessian files: name the tensor, or let the one that fits the layer be chosen).

import Foundation

/// A Hessian [in, in] or activations X [n, in] in a safetensors file.
public struct SafetensorsMatrixCalibration: CalibrationSource {
    public let file: String?
    public let kind: CalibrationKind
    public let tensor: String?
    let st: SafetensorsFile

    public init(path: String, tensor: String?, kind: CalibrationKind) throws {
        self.file = path
        self.tensor = tensor
        self.kind = kind
        self.st = try SafetensorsFile(path: path)
    }

    public var label: String {
        let name = file.map { ($0 as NSString).lastPathComponent } ?? "?"
        return kind == .hessian ? "Hessian file \(name)" : "activations \(name) (H = 2XᵀX/n)"
    }

    /// The named tensor, or the only one that fits a layer with `n` inputs.
    func chosen(inFeatures n: Int) throws -> Matrix {
        let name: String
        if let tensor {
            name = tensor
        } else {
            let fits = st.tensors.filter { $0.shape.count == 2 && (kind == .activations ? $0.shape[1] == n : $0.shape == [n, n]) }
            guard fits.count == 1 else {
                throw SpQRError(.fileFormat, "\(file ?? ""): \(fits.isEmpty ? "no" : "\(fits.count)") tensors fit a layer with \(n) inputs"
                    + (fits.isEmpty ? "" : " (\(fits.map(\.name).joined(separator: ", ")))") + "; name one with --\(kind == .hessian ? "hessian" : "activations")-tensor")
            }
            name = fits[0].name
        }
        return try st.matrix(name)
    }

    /// The activations X [n, in].
    func activations(inFeatures n: Int) throws -> Matrix { try chosen(inFeatures: n) }

    public func hessian(forLayer layer: String, inFeatures n: Int) throws -> Matrix {
        let m = try chosen(inFeatures: n)
        return kind == .activations ? try Hessian.fromActivations(m) : m
    }
}
