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
        if let path = hessian { return try SafetensorsMatrixCalibration(path: path, tensor: hessianTensor, kind: .hessian) }
        if let path = activations { return try SafetensorsMatrixCalibration(path: path, tensor: activationsTensor, kind: .activations) }
        return IdentityCalibration()
    }
}

/// A Hessian (or activations) stored as a plain 2-D tensor in a safetensors file.
struct SafetensorsMatrixCalibration: CalibrationSource {
    let file: String?
    let kind: CalibrationKind
    let tensor: String?
    let st: SafetensorsFile

    init(path: String, tensor: String?, kind: CalibrationKind) throws {
        self.file = path
        self.tensor = tensor
        self.kind = kind
        self.st = try SafetensorsFile(path: path)
    }

    var label: String {
        let name = file.map { ($0 as NSString).lastPathComponent } ?? "?"
        return kind == .hessian ? "Hessian file \(name)" : "activations \(name) (H = 2XᵀX/n)"
    }

    func hessian(forLayer layer: String, inFeatures: Int) throws -> Matrix {
        let name: String
        if let tensor {
            name = tensor
        } else if st.tensors.contains(where: { $0.name == layer }) {
            name = layer
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

import Foundation
