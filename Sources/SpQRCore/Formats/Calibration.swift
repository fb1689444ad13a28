// Calibration sources read from files: a Hessian or activations tensor in a safetensors file.

import Foundation

/// A Hessian (or activations) stored as a plain 2-D tensor in a safetensors file.
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

    public func hessian(forLayer layer: String, inFeatures: Int) throws -> Matrix {
        let name: String
        if let tensor {
            name = tensor
        } else {
            let fits = st.tensors.filter { $0.shape.count == 2 && (kind == .activations ? $0.shape[1] == inFeatures : $0.shape == [inFeatures, inFeatures]) }
            guard fits.count == 1 else {
                throw SpQRError(.fileFormat, "\(file ?? ""): \(fits.isEmpty ? "no" : "\(fits.count)") tensors fit a layer with \(inFeatures) inputs"
                    + (fits.isEmpty ? "" : " (\(fits.map(\.name).joined(separator: ", ")))") + "; name one with --\(kind == .hessian ? "hessian" : "activations")-tensor")
            }
            name = fits[0].name
        }
        let m = try st.matrix(name)
        return kind == .activations ? try Hessian.fromActivations(m) : m
    }
}

