// Measured per-layer fronts kept on disk, so that measuring a model again starts where the last run
// stopped. One JSON file per measurement, named by
//
//     key = SHA-256("spqr-explorer-fronts 1", tool version, SHA-256 of every model file, the calibration's
//           kind, tensor and file SHA-256 (or "identity"), the menu's text form, the base settings as JSON)
//
// so a changed file, menu or setting never reuses old figures. The layers' sensitivities measured on the
// model (SensitivityMeasurement.swift) go beside it, in `key-sensitivity-S.json` with
//
//     S = SHA-256(key, the text's SHA-256, its windows' token ids, the reference setting as JSON).
//
// Each file is rewritten atomically after every layer (AtomicFile.swift); a file of another key, of other
// layers or that does not parse is ignored.

import Foundation
import SpQRCore

/// The on-disk cache of a model's fronts.
public struct FrontsCache: Sendable {
    /// The directory of cache files.
    public let directory: String
    /// The key of this measurement; the file is `directory/key.json`.
    public let key: String

    static let formatName = "spqr-explorer-fronts"
    static let formatVersion = 1

    /// The default directory: $XDG_CACHE_HOME/spqr-explorer/measurements, else ~/.cache/spqr-explorer/measurements.
    public static var defaultDirectory: String {
        let env = ProcessInfo.processInfo.environment
        let base = env["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? (NSHomeDirectory() + "/.cache")
        return base + "/spqr-explorer/measurements"
    }

    /// The cache of `checkpoint` measured with `calibration` over `menu` around `base`, in `directory`.
    /// Hashes the model and calibration files (reusing `digests`).
    public init(
        directory: String, checkpoint: any Checkpoint, calibration: any CalibrationSource, menu: SettingsMenu,
        base: SpQRConfig, digests: FileDigests = FileDigests(), cancel: CancellationToken? = nil
    ) throws {
        var h = SpQRCore.SHA256()
        func add(_ s: String) { h.update(Data((s + "\n").utf8)) }
        add("\(Self.formatName) \(Self.formatVersion)")
        add(Recipe.toolVersion)
        for f in ModelFiles.files(of: checkpoint) { add(try digests.digest(f, cancel: cancel)) }
        add(calibration.kind.rawValue)
        add(calibration.tensor ?? "")
        add(try calibration.file.map { try digests.digest($0, cancel: cancel) } ?? "identity")
        add(menu.description)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        h.update(try encoder.encode(base))
        self.directory = directory
        self.key = h.hexDigest()
    }

    /// The cache file.
    public var path: String { directory + "/" + key + ".json" }

    private struct File: Codable {
        var format: String
        var version: Int
        var key: String
        var fronts: ModelFronts
    }

    /// The layers measured so far, when the file exists and is of this key; nil otherwise.
    public func load() -> ModelFronts? {
        guard let data = FileManager.default.contents(atPath: path),
            let file = try? JSONDecoder().decode(File.self, from: data),
            file.format == Self.formatName, file.version == Self.formatVersion, file.key == key
        else { return nil }
        return file.fronts
    }

    /// Writes `fronts` (complete or not) atomically, creating the directory when needed.
    public func store(_ fronts: ModelFronts) throws {
        try write(File(format: Self.formatName, version: Self.formatVersion, key: key, fronts: fronts), to: path)
    }

    private func write(_ value: some Encodable, to path: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw SpQRError(
                .io, "\(directory): cannot create the measurement cache (\((error as NSError).localizedDescription))")
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try AtomicFile.write(try encoder.encode(value), to: path)
    }

    /// The key of a sensitivity measurement on `windows` of a text (its SHA-256) at `reference`.
    public func sensitivityKey(textSHA256: String, windows: [[Int]], reference: SpQRConfig) throws -> String {
        var h = SpQRCore.SHA256()
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        h.update(Data("\(key)\n\(textSHA256)\n".utf8))
        h.update(Data(windows.map { $0.map(String.init).joined(separator: " ") }.joined(separator: "\n").utf8))
        h.update(try encoder.encode(reference))
        return h.hexDigest()
    }

    /// The sensitivity file of `sensitivityKey`.
    public func sensitivityPath(_ sensitivityKey: String) -> String {
        directory + "/" + key + "-sensitivity-" + sensitivityKey + ".json"
    }

    private struct SensitivityFile: Codable {
        var format: String
        var version: Int
        var key: String
        var sensitivity: ModelSensitivity
    }

    /// The layers' sensitivities measured so far under `sensitivityKey`; nil when none are kept.
    public func loadSensitivity(_ sensitivityKey: String) -> ModelSensitivity? {
        guard let data = FileManager.default.contents(atPath: sensitivityPath(sensitivityKey)),
            let file = try? JSONDecoder().decode(SensitivityFile.self, from: data),
            file.format == Self.formatName + "-sensitivity", file.version == Self.formatVersion,
            file.key == sensitivityKey
        else { return nil }
        return file.sensitivity
    }

    /// Writes the sensitivities measured so far (complete or not) atomically.
    public func storeSensitivity(_ sensitivity: ModelSensitivity, _ sensitivityKey: String) throws {
        try write(
            SensitivityFile(
                format: Self.formatName + "-sensitivity", version: Self.formatVersion, key: sensitivityKey,
                sensitivity: sensitivity), to: sensitivityPath(sensitivityKey))
    }
}
