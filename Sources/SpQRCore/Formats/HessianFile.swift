// Hessian files (docs/hessian-format.md): one float32 [in, in] matrix per layer input site in a
// safetensors file, full or as a packed upper triangle (`.triu`, row by row), looked up through the
// `layers` map in the metadata, with the provenance of the calibration run.

import Foundation

/// A Hessian file as a calibration source.
public struct HessianFileCalibration: CalibrationSource {
    public let file: String?
    public let tensor: String?
    let st: SafetensorsFile
    /// weight name → Hessian tensor name.
    public let layers: [String: String]

    public var kind: CalibrationKind { .hessian }

    /// Calibration sequences, when recorded.
    public var nSequences: Int? { st.metadata["n_sequences"].flatMap { Int($0) } }

    public var label: String {
        var parts = ["Hessian file \((file! as NSString).lastPathComponent)"]
        if let n = nSequences { parts.append("\(n) seq") }
        if let t = st.metadata["n_tokens"] { parts.append("\(t) tokens") }
        return parts.joined(separator: ", ")
    }

    /// The provenance metadata (model, text source and hash, sizes, tool version).
    public var provenance: [String: String] { st.metadata }

    /// Opens a Hessian file; `tensor` names one matrix explicitly (for files without a `layers` map).
    public init(path: String, tensor: String? = nil) throws {
        file = path
        self.tensor = tensor
        st = try SafetensorsFile(path: path)
        if let json = st.metadata["layers"] {
            guard let map = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: String] else {
                throw SpQRError(.fileFormat, "\(path): metadata \"layers\" must be a JSON object of weight name → Hessian tensor name")
            }
            for (w, h) in map where !st.tensors.contains(where: { $0.name == h || $0.name == h + ".triu" }) {
                throw SpQRError(.fileFormat, "\(path): layers[\"\(w)\"] names \(h), which the file does not hold")
            }
            layers = map
        } else {
            layers = [:]
        }
    }

    public func hessian(forLayer layer: String, inFeatures n: Int) throws -> Matrix {
        let name: String
        if let tensor {
            name = tensor
        } else if let mapped = layers[layer] {
            name = mapped
        } else if layers.isEmpty {
            let fits = st.tensors.filter { $0.shape == [n, n] || $0.shape == [n * (n + 1) / 2] && $0.name.hasSuffix(".triu") }
            guard fits.count == 1 else {
                throw SpQRError(.fileFormat, "\(file!): \(fits.isEmpty ? "no" : "\(fits.count)") tensors fit a layer with \(n) inputs and the file has no \"layers\" map; name one with --hessian-tensor")
            }
            name = fits[0].name
        } else {
            throw SpQRError(.fileFormat, "\(file!): no Hessian for layer \(layer) (the file covers \(layers.count) layers, e.g. \(layers.keys.sorted().prefix(3).joined(separator: ", ")))")
        }
        let full = st.tensors.first { $0.name == name }, packed = st.tensors.first { $0.name == name + ".triu" || ($0.name == name && name.hasSuffix(".triu")) }
        if let t = full, t.shape.count == 2 {
            guard t.shape == [n, n] else {
                throw SpQRError(.shapeMismatch, "\(file!): Hessian \(name) is \(t.shape[0])x\(t.shape[1]) but layer \(layer) has \(n) inputs")
            }
            return try st.matrix(name)
        }
        guard let t = packed else { throw SpQRError(.fileFormat, "\(file!): no tensor \(name) or \(name).triu") }
        guard t.shape == [n * (n + 1) / 2] else {
            throw SpQRError(.shapeMismatch, "\(file!): packed Hessian \(t.name) has \(t.shape.first ?? 0) values; a layer with \(n) inputs needs \(n * (n + 1) / 2)")
        }
        let triu = try st.floats(t.name)
        var h = Matrix(rows: n, cols: n)
        var k = 0
        for i in 0..<n {
            for j in i..<n {
                h.values[i * n + j] = triu[k]
                h.values[j * n + i] = triu[k]
                k += 1
            }
        }
        return h
    }

    /// Writes a Hessian file atomically. `hessians` maps tensor names (`hessian.<site>`) to matrices;
    /// `layers` maps weight names to those tensor names; `packed` stores upper triangles.
    public static func write(hessians: [String: Matrix], layers: [String: String], provenance: [String: String],
                             packed: Bool = false, to path: String) throws {
        var tensors: [SafetensorsWriter.Tensor] = []
        for name in hessians.keys.sorted() {
            let h = hessians[name]!
            if packed {
                var triu: [Float] = []
                triu.reserveCapacity(h.rows * (h.rows + 1) / 2)
                for i in 0..<h.rows { for j in i..<h.rows { triu.append(h.values[i * h.rows + j]) } }
                tensors.append(.f32(name + ".triu", shape: [triu.count], triu))
            } else {
                tensors.append(.f32(name, shape: [h.rows, h.cols], h.values))
            }
        }
        var meta = provenance
        meta["format"] = "spqr-explorer-hessians"
        meta["format_version"] = "1"
        meta["layers"] = String(decoding: try JSONSerialization.data(withJSONObject: layers, options: [.sortedKeys]), as: UTF8.self)
        try SafetensorsWriter.write(tensors, metadata: meta, to: path)
    }
}
