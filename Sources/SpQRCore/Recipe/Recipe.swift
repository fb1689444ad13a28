// The JSON recipe: a versioned record of chosen SpQR settings, per-layer overrides and the figures they
// gave, with enough provenance (file sizes and SHA-256, calibration source) to reproduce them here or in
// the reference pipeline. Documented field by field in docs/recipe.md; schema in docs/recipe.schema.json.

import Foundation

/// A recipe document (format `spqr-explorer-recipe`, version 1).
public struct Recipe: Sendable, Equatable {
    /// The format name written in every recipe.
    public static let formatName = "spqr-explorer-recipe"
    /// The version this code reads and writes.
    public static let formatVersion = 1
    /// The version of the tool, written into recipes.
    public static let toolVersion = "0.1.0"

    /// One model file.
    public struct ModelFile: Sendable, Equatable, Codable {
        public var name: String
        public var size: Int
        public var sha256: String
        public init(name: String, size: Int, sha256: String) {
            self.name = name
            self.size = size
            self.sha256 = sha256
        }
    }

    /// The model the recipe was measured on.
    public struct Model: Sendable, Equatable, Codable {
        /// The path as the user gave it.
        public var path: String
        public var files: [ModelFile]
        public init(path: String, files: [ModelFile]) {
            self.path = path
            self.files = files
        }
    }

    /// Where the Hessians came from.
    public struct Calibration: Sendable, Equatable, Codable {
        public var kind: CalibrationKind
        public var file: String?
        /// The tensor of the file, when one was named explicitly.
        public var tensor: String?
        public var sha256: String?
        public var nSequences: Int?
        public var label: String
        public init(
            kind: CalibrationKind, file: String?, tensor: String? = nil, sha256: String?, nSequences: Int?,
            label: String
        ) {
            self.kind = kind
            self.file = file
            self.tensor = tensor
            self.sha256 = sha256
            self.nSequences = nSequences
            self.label = label
        }
        enum CodingKeys: String, CodingKey {
            case kind, file, tensor, sha256, label
            case nSequences = "n_sequences"
        }
    }

    /// One layer: its overrides of the defaults and, once measured, its figures.
    public struct Layer: Sendable, Equatable {
        /// Only the settings that differ from the defaults.
        public var overrides: [String: RecipeValue]
        /// [out, in].
        public var shape: [Int]
        /// The figures measured at the layer's settings, if it was measured.
        public var figures: LayerReport?

        public init(overrides: [String: RecipeValue], shape: [Int], figures: LayerReport?) {
            self.overrides = overrides
            self.shape = shape
            self.figures = figures
        }
    }

    /// Model-wide totals over the layers of the recipe.
    public struct Totals: Sendable, Equatable, Codable {
        public var layers: Int
        public var parameters: Int
        public var storageBits: Int
        public var bytes: Int
        public var avgBits: Double
        public var compressionRatioFP16: Double
        enum CodingKeys: String, CodingKey {
            case layers, parameters, bytes
            case storageBits = "storage_bits", avgBits = "avg_bits", compressionRatioFP16 = "compression_ratio_fp16"
        }
    }

    public var toolVersion: String
    /// ISO 8601 creation time.
    public var created: String
    public var model: Model
    public var calibration: Calibration
    public var defaults: SpQRConfig
    /// Layers by tensor name.
    public var layers: [String: Layer]

    public init(
        toolVersion: String = Recipe.toolVersion, created: String, model: Model, calibration: Calibration,
        defaults: SpQRConfig, layers: [String: Layer]
    ) {
        self.toolVersion = toolVersion
        self.created = created
        self.model = model
        self.calibration = calibration
        self.defaults = defaults
        self.layers = layers
    }

    /// The settings of `layer`: the defaults with its overrides applied.
    public func config(for layer: String) throws -> SpQRConfig {
        guard let entry = layers[layer] else { return defaults }
        return try RecipeValue.apply(entry.overrides, to: defaults, path: "layers[\"\(layer)\"].overrides")
    }

    /// Totals over the measured layers (storage bits summed; average bits weighted by parameters).
    public var totals: Totals {
        var params = 0
        var bits = 0
        var weightedAvg = 0.0
        for (_, l) in layers {
            guard let f = l.figures else { continue }
            let p = f.shape.reduce(1, *)
            params += p
            bits += f.storageBits
            weightedAvg += f.avgBits * Double(p)
        }
        return Totals(
            layers: layers.count, parameters: params, storageBits: bits, bytes: (bits + 7) / 8,
            avgBits: params > 0 ? weightedAvg / Double(params) : 0,
            compressionRatioFP16: bits > 0 ? Double(16 * params) / Double(bits) : 0)
    }

    /// Builds a recipe from what was chosen and measured. `configs` gives every layer's settings; a layer's
    /// overrides are the keys where its settings differ from `defaults`.
    public static func make(
        model: Model, calibration: Calibration, defaults: SpQRConfig,
        configs: [String: SpQRConfig], shapes: [String: [Int]], reports: [String: LayerReport],
        created: Date = Date()
    ) -> Recipe {
        var layers: [String: Layer] = [:]
        for (name, config) in configs {
            layers[name] = Layer(
                overrides: RecipeValue.differences(config, from: defaults),
                shape: shapes[name] ?? reports[name]?.shape ?? [], figures: reports[name])
        }
        let formatter = ISO8601DateFormatter()
        return Recipe(
            created: formatter.string(from: created), model: model, calibration: calibration,
            defaults: defaults, layers: layers)
    }

    /// The `model` and `calibration` sections for a checkpoint and its calibration source: every model
    /// file and the calibration file with size and SHA-256. `digests` reuses hashes of unchanged files
    /// and hashes the rest concurrently; `progress(done, total)` counts bytes still to hash.
    public static func describeInputs(
        checkpoint: any Checkpoint, calibration: any CalibrationSource,
        digests: FileDigests = FileDigests(), cancel: CancellationToken? = nil,
        progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil
    )
        throws -> (model: Model, calibration: Calibration)
    {
        let files = ModelFiles.files(of: checkpoint)
        let hashes = try digests.sizedDigests(
            of: files + (calibration.file.map { [$0] } ?? []), cancel: cancel, progress: progress)
        var out: [ModelFile] = []
        for (f, h) in zip(files, hashes) {
            out.append(ModelFile(name: (f as NSString).lastPathComponent, size: h.size, sha256: h.digest))
        }
        let cal = Calibration(
            kind: calibration.kind, file: calibration.file, tensor: calibration.tensor,
            sha256: calibration.file == nil ? nil : hashes.last?.digest,
            nSequences: (calibration as? HessianFileCalibration)?.nSequences, label: calibration.label)
        return (Model(path: checkpoint.path, files: out), cal)
    }
}

/// A JSON scalar in a recipe's overrides.
public enum RecipeValue: Sendable, Equatable, Codable {
    case int(Int), double(Double), bool(Bool), string(String), null

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let i = try? c.decode(Int.self) {
            self = .int(i)
        } else if let d = try? c.decode(Double.self) {
            self = .double(d)
        } else {
            self = .string(try c.decode(String.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .int(let v): try c.encode(v)
        case .double(let v): try c.encode(v)
        case .bool(let v): try c.encode(v)
        case .string(let v): try c.encode(v)
        case .null: try c.encodeNil()
        }
    }

    /// The JSON form of every setting of `c` as the recipe stores it (reference flag names and values).
    static func settings(_ c: SpQRConfig) -> [String: RecipeValue] {
        Dictionary(uniqueKeysWithValues: Setting.all.map { ($0.name, $0.json($0.value(in: c))) })
    }

    /// The settings of `c` that differ from `base`.
    static func differences(_ c: SpQRConfig, from base: SpQRConfig) -> [String: RecipeValue] {
        Setting.differences(c, from: base).reduce(into: [:]) { out, d in
            out[d.key] = Setting.named(d.key)?.json(d.value)
        }
    }

    /// `base` with `overrides` applied; errors name the field at `path`.
    static func apply(_ overrides: [String: RecipeValue], to base: SpQRConfig, path: String) throws -> SpQRConfig {
        var c = base
        for key in overrides.keys.sorted() {
            guard let setting = Setting.named(key) else {
                throw SpQRError(
                    .fileFormat,
                    "\(path): unknown setting \"\(key)\" (known: \(Recipe.settingKeys.joined(separator: ", ")))")
            }
            do {
                try setting.set(setting.decode(json: overrides[key]!), in: &c)
            } catch let e as SpQRError {
                throw SpQRError(.fileFormat, "\(path).\(key): \(e.message)")
            }
        }
        return c
    }
}
