// Reading and writing recipes. Reading validates the whole document against the rules of
// docs/recipe.schema.json and names the first offending field with what was expected and what was found.

import Foundation

extension Recipe {
    /// Every setting key of `defaults` and `overrides`, in the reference's spelling.
    public static let settingKeys = Setting.all.map(\.name)

    /// The JSON text of the recipe (keys sorted, pretty-printed), totals and reference command included.
    public func encoded() throws -> Data {
        var layerObjects: [String: Any] = [:]
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        func json<T: Encodable>(_ v: T) throws -> Any {
            try JSONSerialization.jsonObject(with: encoder.encode(v), options: [.fragmentsAllowed])
        }
        for (name, layer) in layers {
            var o: [String: Any] = ["overrides": try json(layer.overrides), "shape": layer.shape]
            o["figures"] = try layer.figures.map { try json($0) } ?? NSNull()
            layerObjects[name] = o
        }
        let command = ReferenceCommand.make(self)
        let root: [String: Any] = [
            "format": Recipe.formatName,
            "format_version": Recipe.formatVersion,
            "tool_version": toolVersion,
            "created": created,
            "model": try json(model),
            "calibration": try json(calibration),
            "defaults": try json(defaults),
            "layers": layerObjects,
            "totals": try json(totals),
            "reference_command": command.command,
            "reference_unsupported": command.unsupported,
        ]
        return try JSONSerialization.data(
            withJSONObject: root, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
    }

    /// Writes the recipe atomically; an existing file is replaced only when `overwrite` is true.
    public func write(to path: String, overwrite: Bool) throws {
        if !overwrite && FileManager.default.fileExists(atPath: path) {
            throw SpQRError(.io, "\(path) already exists; choose another name or allow overwriting")
        }
        try AtomicFile.write(try encoded(), to: path)
    }

    /// Reads and validates a recipe file.
    public static func read(path: String) throws -> Recipe {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpQRError(.io, "\(path): cannot read the recipe (missing or unreadable)")
        }
        do {
            return try decode(data)
        } catch let e as SpQRError {
            throw SpQRError(e.kind, "\(path): \(e.message)")
        }
    }

    /// Parses and validates recipe JSON.
    public static func decode(_ data: Data) throws -> Recipe {
        let any: Any
        do {
            any = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw SpQRError(.fileFormat, "not valid JSON (\((error as NSError).localizedDescription))")
        }
        let v = RecipeValidator()
        let root = try v.object(any, "recipe")
        try v.require(
            root,
            ["format", "format_version", "tool_version", "created", "model", "calibration", "defaults", "layers"],
            "recipe")
        let format = try v.string(root["format"]!, "format")
        guard format == formatName else { throw v.fail("format", "expected \"\(formatName)\", got \"\(format)\"") }
        let version = try v.integer(root["format_version"]!, "format_version")
        guard version == formatVersion else {
            throw v.fail(
                "format_version",
                "this tool reads version \(formatVersion), the file is version \(version); use a spqr-explorer that writes version \(version)"
            )
        }
        let toolVersion = try v.string(root["tool_version"]!, "tool_version")
        let created = try v.string(root["created"]!, "created")

        let modelObject = try v.object(root["model"]!, "model")
        try v.require(modelObject, ["path", "files"], "model")
        var files: [ModelFile] = []
        for (i, f) in try v.array(modelObject["files"]!, "model.files").enumerated() {
            let p = "model.files[\(i)]"
            let o = try v.object(f, p)
            try v.require(o, ["name", "size", "sha256"], p)
            let size = try v.integer(o["size"]!, "\(p).size")
            guard size >= 0 else { throw v.fail("\(p).size", "expected a non-negative integer, got \(size)") }
            let hash = try v.string(o["sha256"]!, "\(p).sha256")
            guard hash.count == 64, hash.allSatisfy({ $0.isHexDigit && !$0.isUppercase }) else {
                throw v.fail("\(p).sha256", "expected 64 lowercase hex digits, got \"\(hash)\"")
            }
            files.append(ModelFile(name: try v.string(o["name"]!, "\(p).name"), size: size, sha256: hash))
        }
        let model = Model(path: try v.string(modelObject["path"]!, "model.path"), files: files)

        let cal = try v.object(root["calibration"]!, "calibration")
        try v.require(cal, ["kind", "label"], "calibration")
        let kindName = try v.string(cal["kind"]!, "calibration.kind")
        guard let kind = CalibrationKind(rawValue: kindName) else {
            throw v.fail("calibration.kind", "expected one of hessian, activations, imatrix, none, got \"\(kindName)\"")
        }
        let calibration = Calibration(
            kind: kind, file: try v.optionalString(cal["file"], "calibration.file"),
            tensor: try v.optionalString(cal["tensor"], "calibration.tensor"),
            sha256: try v.optionalString(cal["sha256"], "calibration.sha256"),
            nSequences: try v.optionalInteger(cal["n_sequences"], "calibration.n_sequences"),
            label: try v.string(cal["label"]!, "calibration.label"))

        let defaultsObject = try v.object(root["defaults"]!, "defaults")
        try v.require(defaultsObject, settingKeys, "defaults")
        let defaults = try v.settings(defaultsObject, "defaults").config

        var layers: [String: Layer] = [:]
        let layersObject = try v.object(root["layers"]!, "layers")
        for name in layersObject.keys.sorted() {
            let p = "layers[\"\(name)\"]"
            let o = try v.object(layersObject[name]!, p)
            try v.require(o, ["overrides", "shape"], p)
            for key in o.keys where !["overrides", "shape", "figures"].contains(key) {
                throw v.fail(p, "unknown field \"\(key)\" (a layer has overrides, shape and figures)")
            }
            let overridesObject = try v.object(o["overrides"]!, "\(p).overrides")
            let overrides = try v.settings(overridesObject, "\(p).overrides", base: defaults).values
            let shapeArray = try v.array(o["shape"]!, "\(p).shape")
            let shape = try shapeArray.enumerated().map { try v.integer($0.element, "\(p).shape[\($0.offset)]") }
            guard shape.count == 2, shape.allSatisfy({ $0 > 0 }) else {
                throw v.fail("\(p).shape", "expected [out, in] with two positive integers, got \(shape)")
            }
            var figures: LayerReport?
            if let f = o["figures"], !(f is NSNull) {
                let object = try v.object(f, "\(p).figures")
                do {
                    figures = try JSONDecoder().decode(
                        LayerReport.self,
                        from: JSONSerialization.data(
                            withJSONObject: LayerReport.renamingLegacyKeys(object)))
                } catch let e as DecodingError {
                    throw v.fail("\(p).figures", RecipeValidator.describe(e))
                }
            }
            layers[name] = Layer(overrides: overrides, shape: shape, figures: figures)
        }
        return Recipe(
            toolVersion: toolVersion, created: created, model: model, calibration: calibration,
            defaults: defaults, layers: layers)
    }

    /// Checks that every layer of the recipe exists in `checkpoint` with the recorded shape.
    public func checkLayers(against checkpoint: any Checkpoint) throws {
        for name in layers.keys.sorted() {
            guard let entry = checkpoint.tensors.first(where: { $0.name == name || $0.storedName == name }) else {
                throw SpQRError(.fileFormat, "layers[\"\(name)\"]: no such tensor in \(checkpoint.path)")
            }
            let shape = layers[name]!.shape
            if entry.shape != shape {
                throw SpQRError(
                    .fileFormat,
                    "layers[\"\(name)\"].shape: the recipe says \(shape), \(checkpoint.path) has \(entry.shape)")
            }
        }
    }
}

/// Type and range checks with JSON-path error messages.
struct RecipeValidator {
    func fail(_ path: String, _ message: String) -> SpQRError { SpQRError(.fileFormat, "\(path): \(message)") }

    static func typeName(_ x: Any) -> String {
        if let scalar = RecipeValue(jsonObject: x) { return scalar.typeDescription }
        switch x {
        case is [Any]: return "an array"
        case is [String: Any]: return "an object"
        default: return "\(type(of: x))"
        }
    }

    func object(_ x: Any, _ path: String) throws -> [String: Any] {
        guard let o = x as? [String: Any] else { throw fail(path, "expected an object, got \(Self.typeName(x))") }
        return o
    }

    func array(_ x: Any, _ path: String) throws -> [Any] {
        guard let a = x as? [Any] else { throw fail(path, "expected an array, got \(Self.typeName(x))") }
        return a
    }

    func string(_ x: Any, _ path: String) throws -> String {
        guard let s = x as? String else { throw fail(path, "expected a string, got \(Self.typeName(x))") }
        return s
    }

    func optionalString(_ x: Any?, _ path: String) throws -> String? {
        guard let x, !(x is NSNull) else { return nil }
        return try string(x, path)
    }

    func integer(_ x: Any, _ path: String) throws -> Int {
        guard let i = JSONValue.integer(x) else { throw fail(path, "expected an integer, got \(Self.typeName(x))") }
        return i
    }

    func optionalInteger(_ x: Any?, _ path: String) throws -> Int? {
        guard let x, !(x is NSNull) else { return nil }
        return try integer(x, path)
    }

    func require(_ o: [String: Any], _ keys: [String], _ path: String) throws {
        for k in keys where o[k] == nil { throw fail(path, "missing field \"\(k)\"") }
    }

    /// Validates setting keys and values (all of them for defaults, some for overrides) by their
    /// descriptions (`Setting.decode(json:)`) and returns the resulting configuration (checked as a whole
    /// too) and the values in their written form ("off" and "none" thresholds become "inf").
    func settings(_ o: [String: Any], _ path: String, base: SpQRConfig = SpQRConfig()) throws
        -> (config: SpQRConfig, values: [String: RecipeValue])
    {
        var values: [String: RecipeValue] = [:]
        for key in o.keys.sorted() {
            guard let value = RecipeValue(jsonObject: o[key]!) else {
                let expected = Setting.named(key)?.jsonTypePhrase ?? "a single value"
                throw fail("\(path).\(key)", "expected \(expected), got \(Self.typeName(o[key]!))")
            }
            values[key] = value
        }
        let c = try RecipeValue.apply(values, to: base, path: path)
        do {
            try c.validate()
        } catch let e as SpQRError {
            throw fail(path, e.message)
        }
        for key in values.keys { if let s = Setting.named(key) { values[key] = s.json(s.value(in: c)) } }
        return (c, values)
    }

    static func describe(_ e: DecodingError) -> String {
        func at(_ path: [CodingKey]) -> String { path.map(\.stringValue).joined(separator: ".") }
        switch e {
        case .typeMismatch(let t, let ctx): return "\(at(ctx.codingPath)): expected \(t)"
        case .valueNotFound(let t, let ctx): return "\(at(ctx.codingPath)): missing \(t)"
        case .keyNotFound(let k, let ctx): return "\(at(ctx.codingPath + [k])): missing field"
        case .dataCorrupted(let ctx): return "\(at(ctx.codingPath)): \(ctx.debugDescription)"
        @unknown default: return "\(e)"
        }
    }
}
