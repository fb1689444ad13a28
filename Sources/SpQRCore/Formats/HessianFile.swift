// Hessian files (docs/hessian-format.md, format `spqr-explorer-hessians` version 1): one float32
// [in, in] matrix per layer input site in a safetensors file, full or as its upper triangle packed row by
// row (`<name>.triu`, in·(in+1)/2 values: H[0,0], H[0,1], …, H[0,in−1], H[1,1], …), looked up through the
// `layers` map of weight name → tensor name in `__metadata__`, beside the provenance of the calibration
// run (model, text source and its SHA-256, sequences, tokens, sequence length, tool version).

import Foundation

/// A Hessian file as a calibration source.
public struct HessianFileCalibration: CalibrationSource {
    public let file: String?
    public let tensor: String?
    let st: SafetensorsFile
    /// weight name → Hessian tensor name.
    public let layers: [String: String]

    /// The format name written in `__metadata__["format"]`.
    public static let formatName = "spqr-explorer-hessians"
    /// The format version this reader and writer implement.
    public static let formatVersion = "1"

    public var kind: CalibrationKind { .hessian }

    /// Calibration sequences, when recorded.
    public var nSequences: Int? { st.metadata["n_sequences"].flatMap { Int($0) } }
    /// Calibration tokens, when recorded.
    public var nTokens: Int? { st.metadata["n_tokens"].flatMap { Int($0) } }
    /// Tokens per sequence, when recorded.
    public var seqLen: Int? { st.metadata["seq_len"].flatMap { Int($0) } }

    public var label: String {
        var parts = ["Hessian file \((file! as NSString).lastPathComponent)"]
        if let n = nSequences { parts.append("\(n) seq") }
        if let t = st.metadata["n_tokens"] { parts.append("\(t) tokens") }
        return parts.joined(separator: ", ")
    }

    /// The provenance metadata (model, text_source, text_sha256, n_sequences, n_tokens, seq_len,
    /// tool_version, format, format_version, and anything else the writer recorded), without the `layers` map.
    public var provenance: [String: String] { st.metadata.filter { $0.key != "layers" } }

    /// Opens a Hessian file; `tensor` names one matrix explicitly (for files without a `layers` map).
    public init(path: String, tensor: String? = nil) throws {
        func fail(_ m: String) -> SpQRError { SpQRError(.fileFormat, "\(path): \(m)") }
        file = path
        self.tensor = tensor
        st = try SafetensorsFile(path: path)
        if st.metadata["format"] == Self.formatName, let v = st.metadata["format_version"], v != Self.formatVersion {
            throw fail(
                "Hessian file format version \(v) is not supported (version \(Self.formatVersion) is); re-collect it with this version's tools"
            )
        }
        if let json = st.metadata["layers"] {
            guard let map = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: String] else {
                throw fail("metadata \"layers\" must be a JSON object of weight name → Hessian tensor name")
            }
            for (w, h) in map.sorted(by: { $0.key < $1.key }) {
                guard let t = Self.stored(h, in: st) else {
                    throw fail("layers[\"\(w)\"] names \(h), which the file does not hold")
                }
                try Self.checkShape(t, path: path)
            }
            layers = map
        } else {
            layers = [:]
        }
        if let tensor {
            guard let t = Self.stored(tensor, in: st) else { throw fail("no tensor \(tensor) or \(tensor).triu") }
            try Self.checkShape(t, path: path)
        }
    }

    /// The stored tensor for a Hessian name: the full matrix, or its packed triangle.
    static func stored(_ name: String, in st: SafetensorsFile) -> SafetensorsTensorInfo? {
        if let t = try? st.info(name) { return t }
        return try? st.info(name + ".triu")
    }

    /// A full Hessian is a square float matrix; a packed one (`.triu`) a float vector of a triangular length.
    static func checkShape(_ t: SafetensorsTensorInfo, path: String) throws {
        guard t.dtype?.isFloat == true else {
            throw SpQRError(
                .fileFormat,
                "\(path): Hessian \(t.name) has dtype \(t.dtypeName); F32 (or another float type) is needed")
        }
        if t.name.hasSuffix(".triu") {
            guard t.shape.count == 1, triangularSide(t.shape[0]) != nil else {
                throw SpQRError(
                    .fileFormat,
                    "\(path): packed Hessian \(t.name) has shape \(t.shape); a packed upper triangle holds in·(in+1)/2 values"
                )
            }
        } else {
            guard t.shape.count == 2, t.shape[0] == t.shape[1] else {
                throw SpQRError(
                    .fileFormat, "\(path): Hessian \(t.name) has shape \(t.shape); it must be square [in, in]")
            }
        }
    }

    /// n with n·(n+1)/2 = count, if there is one.
    static func triangularSide(_ count: Int) -> Int? {
        let n = Int((Double(8 * count + 1).squareRoot() - 1) / 2)
        for c in [n - 1, n, n + 1] where c >= 0 && c * (c + 1) / 2 == count { return c }
        return nil
    }

    /// The Hessian tensor name for a layer: the explicit tensor, the `layers` entry, the tensor named after
    /// the layer's input site, or the only matrix that fits.
    func hessianName(forLayer layer: String, inFeatures n: Int) throws -> String {
        if let tensor { return tensor }
        if let mapped = layers[layer] { return mapped }
        let site = "hessian." + LayerDiscovery.inputSite(of: layer)
        if Self.stored(site, in: st) != nil { return site }
        if layers.isEmpty {
            let fits = st.tensors.filter {
                $0.shape == [n, n] || ($0.name.hasSuffix(".triu") && $0.shape == [n * (n + 1) / 2])
            }
            guard fits.count == 1 else {
                throw SpQRError(
                    .fileFormat,
                    "\(file!): \(fits.isEmpty ? "no" : "\(fits.count)") tensors fit layer \(layer) with \(n) inputs and the file has no \"layers\" map; name one with --hessian-tensor"
                )
            }
            return fits[0].name
        }
        throw SpQRError(
            .fileFormat,
            "\(file!): no Hessian for layer \(layer) (the file covers \(layers.count) layers, e.g. \(layers.keys.sorted().prefix(3).joined(separator: ", ")))"
        )
    }

    public func hessian(forLayer layer: String, inFeatures n: Int) throws -> Matrix {
        let name = try hessianName(forLayer: layer, inFeatures: n)
        guard let t = Self.stored(name, in: st) else {
            throw SpQRError(.fileFormat, "\(file!): no tensor \(name) or \(name).triu")
        }
        try Self.checkShape(t, path: file!)
        if t.shape.count == 2 {
            guard t.shape == [n, n] else {
                throw SpQRError(
                    .shapeMismatch,
                    "\(file!): Hessian \(t.name) is \(t.shape[0])x\(t.shape[1]) but layer \(layer) has \(n) inputs")
            }
            return try st.matrix(t.name)
        }
        guard t.shape == [n * (n + 1) / 2] else {
            throw SpQRError(
                .shapeMismatch,
                "\(file!): packed Hessian \(t.name) has \(t.shape[0]) values (a \(Self.triangularSide(t.shape[0]) ?? 0)-input layer); layer \(layer) with \(n) inputs needs \(n * (n + 1) / 2)"
            )
        }
        try MemoryBudget.checkFloats(n * n, tensor: "\(t.name) unpacked to [\(n), \(n)]", path: file!)
        let triu = try st.floats(t.name)
        var h = [Float](repeating: 0, count: n * n)
        var k = 0
        for i in 0..<n {
            for j in i..<n {
                h[i * n + j] = triu[k]
                h[j * n + i] = triu[k]
                k += 1
            }
        }
        return Matrix(rows: n, cols: n, values: h)
    }

    /// Writes a Hessian file atomically. `hessians` maps tensor names (`hessian.<site>`) to square
    /// matrices; `layers` maps weight names to those tensor names; `packed` stores upper triangles (as
    /// `<name>.triu`; `layers` keeps naming `<name>`); `provenance` goes into `__metadata__` beside the
    /// format fields and the `layers` map.
    public static func write(
        hessians: [String: Matrix], layers: [String: String], provenance: [String: String],
        packed: Bool = false, to path: String
    ) throws {
        for (name, h) in hessians where h.rows != h.cols || h.rows == 0 {
            throw SpQRError(
                .invalidSetting, "\(path): Hessian \(name) is \(h.rows)x\(h.cols); it must be square and non-empty")
        }
        for (w, h) in layers where hessians[h] == nil {
            throw SpQRError(
                .invalidSetting, "\(path): layers[\"\(w)\"] names \(h), which is not among the Hessians written")
        }
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
        meta["format"] = formatName
        meta["format_version"] = formatVersion
        meta["layers"] = String(
            decoding: try JSONSerialization.data(withJSONObject: layers, options: [.sortedKeys]), as: UTF8.self)
        try SafetensorsWriter.write(tensors, metadata: meta, to: path)
    }
}
