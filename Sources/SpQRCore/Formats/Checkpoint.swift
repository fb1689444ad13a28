// The model-side input of the explorer: a checkpoint lists its tensors and loads one weight matrix on
// demand (as Float [out, in]), and a calibration source supplies the Hessian of a layer's input.

/// One tensor of a checkpoint as listed to the user.
public struct TensorEntry: Sendable, Equatable {
    /// The name shown to users (GGUF names are mapped to the familiar Hugging Face ones where known).
    public let name: String
    /// The name inside the file.
    public let storedName: String
    /// Dimensions as [out, in] for matrices.
    public let shape: [Int]
    /// The element type as the file names it (F32, BF16, Q4_K, …).
    public let dtype: String
    /// Bits per weight of the stored type (fractional for block-quantized types).
    public let bitsPerWeight: Double
    /// Why the tensor cannot be quantized here, or nil when it can (2-D and of a convertible type).
    public let notQuantizableReason: String?
    /// The file that holds it.
    public let file: String
    /// Something the user should know about it (already quantized, rows reordered on loading, …).
    public let note: String?

    /// An entry; `storedName` defaults to `name`.
    public init(
        name: String, storedName: String? = nil, shape: [Int], dtype: String, bitsPerWeight: Double,
        notQuantizableReason: String?, file: String, note: String? = nil
    ) {
        self.name = name
        self.storedName = storedName ?? name
        self.shape = shape
        self.dtype = dtype
        self.bitsPerWeight = bitsPerWeight
        self.notQuantizableReason = notQuantizableReason
        self.file = file
        self.note = note
    }

    /// Whether the explorer can quantize it.
    public var isQuantizable: Bool { notQuantizableReason == nil }

    /// Number of elements.
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A model checkpoint: lists its tensors, loads one on demand.
public protocol Checkpoint: Sendable {
    /// The path the user gave.
    var path: String { get }
    /// Every tensor, sorted by name.
    var tensors: [TensorEntry] { get }
    /// The entry named `name` (user-facing or stored name).
    func entry(_ name: String) throws -> TensorEntry
    /// Loads a 2-D tensor as Float [out, in]; refused with `SpQRError.Kind.tooLarge` when that copy
    /// would not fit the available memory (`MemoryBudget`).
    func matrix(_ name: String) throws -> Matrix
    /// std, max |w| and kurtosis of a quantizable tensor, computed in bounded memory (streamed, or from a
    /// labelled sample for very large tensors: `TensorStatistics.streamed`).
    func statistics(_ name: String) throws -> TensorStatistics
}

extension Checkpoint {
    /// Statistics of the loaded matrix (for checkpoints that hold their tensors in memory).
    public func statistics(_ name: String) throws -> TensorStatistics { TensorStatistics(try matrix(name).values) }

    /// The entry named `name`, which must be quantizable.
    func quantizableEntry(_ name: String) throws -> TensorEntry {
        let e = try entry(name)
        if let reason = e.notQuantizableReason {
            throw SpQRError(.unsupported, "\(path): tensor \"\(name)\" cannot be quantized: \(reason)")
        }
        return e
    }

    /// Looks `name` up by a scan of `tensors` (the readers here use an index instead).
    public func entry(_ name: String) throws -> TensorEntry {
        if let e = tensors.first(where: { $0.name == name || $0.storedName == name }) { return e }
        throw TensorTable.missing(name, in: tensors, path: path)
    }
}

/// Tensor entries sorted by name, looked up by user-facing or stored name in constant time.
struct TensorTable: Sendable {
    let entries: [TensorEntry]
    private let index: [String: Int]

    /// Sorts the entries; two with the same user-facing name are an error naming both files.
    init(_ entries: [TensorEntry], path: String) throws {
        let sorted = entries.sorted { $0.name < $1.name }
        var index: [String: Int] = [:]
        for (i, e) in sorted.enumerated() {
            if let j = index[e.name], sorted[j].name == e.name {
                let other = sorted[j]
                let whereText = other.file == e.file ? "twice in \(e.file)" : "in both \(other.file) and \(e.file)"
                throw SpQRError(
                    .fileFormat,
                    "\(path): tensor \"\(e.name)\" appears \(whereText)\(other.storedName != e.storedName ? " (as \(other.storedName) and \(e.storedName))" : "")"
                )
            }
            index[e.name] = i
        }
        for (i, e) in sorted.enumerated() where index[e.storedName] == nil { index[e.storedName] = i }
        self.entries = sorted
        self.index = index
    }

    func entry(_ name: String, path: String) throws -> TensorEntry {
        guard let i = index[name] else { throw Self.missing(name, in: entries, path: path) }
        return entries[i]
    }

    static func missing(_ name: String, in tensors: [TensorEntry], path: String) -> SpQRError {
        let quantizable = tensors.filter(\.isQuantizable).prefix(6).map(\.name).joined(separator: ", ")
        return SpQRError(
            .fileFormat,
            "\(path): no tensor named \"\(name)\""
                + (quantizable.isEmpty
                    ? "; it holds no quantizable tensor" : "; quantizable ones include \(quantizable)"))
    }
}

/// A single safetensors file as a checkpoint.
public struct SafetensorsCheckpoint: Checkpoint {
    public let path: String
    /// The underlying file (header, metadata, raw tensors).
    public let file: SafetensorsFile
    let table: TensorTable

    public var tensors: [TensorEntry] { table.entries }

    /// Opens the file and lists its tensors (only the header is read).
    public init(path: String) throws {
        self.path = path
        let file = try SafetensorsFile(path: path)
        self.file = file
        self.table = try TensorTable(
            file.tensors.map { t in
                let reason: String?
                if t.dtype == nil {
                    reason = "unknown dtype \(t.dtypeName) (F32, F16, BF16 and F64 can be converted)"
                } else if t.shape.count != 2 {
                    reason = "\(t.shape.count)-D tensor (only 2-D weight matrices are quantized)"
                } else if !(t.dtype?.isFloat ?? false) {
                    reason = "dtype \(t.dtypeName) cannot be converted (F32, F16, BF16 and F64 can)"
                } else if t.shape[0] == 0 || t.shape[1] == 0 {
                    reason = "empty tensor"
                } else {
                    reason = nil
                }
                return TensorEntry(
                    name: t.name, shape: t.shape, dtype: t.dtypeName,
                    bitsPerWeight: Double(t.dtype?.bits ?? 0), notQuantizableReason: reason, file: path)
            }, path: path)
    }

    public func entry(_ name: String) throws -> TensorEntry { try table.entry(name, path: path) }

    public func matrix(_ name: String) throws -> Matrix { try file.matrix(try quantizableEntry(name).storedName) }

    public func statistics(_ name: String) throws -> TensorStatistics {
        let e = try quantizableEntry(name)
        return try TensorStatistics.streamed(count: e.elementCount) { try file.floats(e.storedName, elements: $0) }
    }
}

/// Where the Hessian of a layer comes from, in order of fidelity.
public enum CalibrationKind: String, Sendable, Codable {
    /// A Hessian file (our safetensors layout) collected from real text.
    case hessian
    /// Calibration activations X; H = 2XᵀX/n.
    case activations
    /// A llama.cpp importance matrix: the diagonal of H.
    case imatrix
    /// No calibration data: H = I.
    case none

    /// What qualifies the relative proxy error under this calibration: with H = I it is a weight error, and
    /// says so ("data-free, H = I"); nil with calibration data.
    public var proxyErrorQualifier: String? { self == .none ? "data-free, H = I" : nil }

    /// The name of the relative proxy error under this calibration, with its qualifier.
    public var proxyErrorLabel: String { "rel proxy error" + (proxyErrorQualifier.map { " (\($0))" } ?? "") }
}

/// Supplies the Hessian of a layer's input.
public protocol CalibrationSource: Sendable {
    var kind: CalibrationKind { get }
    /// A short label for the screen, e.g. "Hessian file h.safetensors (128 seq)" or "none: data-free (H = I)".
    var label: String { get }
    /// The file it reads, if any.
    var file: String? { get }
    /// The tensor inside the file that was named explicitly, if any.
    var tensor: String? { get }
    /// The [in, in] Hessian for the layer `layer` (user-facing tensor name) with `inFeatures` inputs.
    func hessian(forLayer layer: String, inFeatures: Int) throws -> Matrix
}

/// H = I: data-free, always labelled as such.
public struct IdentityCalibration: CalibrationSource {
    public init() {}
    public var kind: CalibrationKind { .none }
    public var label: String { "none: data-free (H = I)" }
    public var file: String? { nil }
    public var tensor: String? { nil }
    public func hessian(forLayer layer: String, inFeatures: Int) throws -> Matrix {
        try MemoryBudget.checkHessian(inFeatures, layer: layer, source: "H = I")
        return Hessian.identity(inFeatures)
    }
}
