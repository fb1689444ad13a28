// The settings part of docs/recipe.schema.json (JSON Schema 2020-12), generated from the setting
// descriptions: `$defs.settings` (every setting's JSON form and range) and the list of keys `defaults`
// requires. A test checks the committed file against this, entry by entry.

import Foundation

extension Setting {
    /// The JSON Schema of this setting's recipe form.
    public var jsonSchema: [String: Any] {
        var s: [String: Any]
        switch domain {
        case .integer(let r, _, let unset):
            s = ["type": unset == nil ? "integer" as Any : ["integer", "null"], "minimum": r.lowerBound]
            if r.upperBound != Int.max { s["maximum"] = r.upperBound }
        case .number(let m, let inf):
            s = ["type": "number", "minimum": m]
            if inf != nil { s = ["oneOf": [s, ["enum": Self.infinityWords]]] }
        case .flag: s = ["type": "boolean"]
        case .binary: s = ["oneOf": [["type": "boolean"], ["enum": [0, 1]], ["type": "null"]]]
        case .choice(let names): s = ["enum": names]
        }
        switch domain {
        case .integer(_, _, let unset?): s["description"] = "\(help); null for \(unset)."
        case .number(_, let inf?): s["description"] = "\(help); \"inf\" (also \"off\", \"none\") for \(inf)."
        default: s["description"] = help + "."
        }
        return s
    }

    /// `$defs.settings` of the recipe schema: an object of settings, no other keys.
    public static var settingsJSONSchema: [String: Any] {
        [
            "type": "object", "additionalProperties": false,
            "properties": Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0.jsonSchema) }),
        ]
    }

    /// The text of `$defs.settings` as docs/recipe.schema.json holds it (one setting per line, in order).
    public static func settingsJSONSchemaText(indent: String) throws -> String {
        func json(_ x: Any) throws -> String {
            String(
                decoding: try JSONSerialization.data(
                    withJSONObject: x, options: [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]),
                as: UTF8.self)
        }
        let lines = try all.map { "\(indent)    \(try json($0.name)): \(try json($0.jsonSchema))" }
        return
            "{\n\(indent)  \"type\": \"object\",\n\(indent)  \"additionalProperties\": false,\n\(indent)  \"properties\": {\n"
            + lines.joined(separator: ",\n") + "\n\(indent)  }\n\(indent)}"
    }
}
