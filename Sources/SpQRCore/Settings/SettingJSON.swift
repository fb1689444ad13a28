// A setting's recipe JSON form: `null` for an unset whole number, a number or the string "inf" (read also as
// "off" or "none") for the outlier threshold, true/false (round_zero also 0, 1 and null, as the reference
// writes it), and a choice's name. Reading checks the range and says what was expected and what was found.

import Foundation

extension Setting {
    /// The JSON types accepted, after "expected" in a type mismatch.
    var jsonTypePhrase: String {
        switch domain {
        case .integer(_, _, let unset): return unset == nil ? "an integer" : "null or an integer"
        case .number(_, let inf): return inf == nil ? "a number" : "a number or \"inf\""
        case .flag: return "true or false"
        case .binary: return "true, false, 0, 1 or null"
        case .choice: return "a string"
        }
    }

    /// The JSON values accepted, after "expected" when a value is out of range.
    var jsonRangePhrase: String {
        switch domain {
        case .integer(let r, _, let unset):
            let bounds =
                r.upperBound != Int.max
                ? "an integer from \(r.lowerBound) to \(r.upperBound)"
                : r.lowerBound == 1 ? "a positive integer" : "an integer of at least \(r.lowerBound)"
            return (unset.map { "null (\($0)) or " } ?? "") + bounds
        case .number(let m, let inf): return Self.atLeast(m) + (inf == nil ? "" : " or \"inf\"")
        case .choice(let names): return Self.list(names)
        case .flag, .binary: return jsonTypePhrase
        }
    }

    /// Reads the recipe's JSON form of a value, range checked.
    /// - Throws: `invalidSetting` with "expected …, got …" (the caller names the field).
    public func decode(json: RecipeValue) throws -> SettingValue {
        func fail(_ expected: String, _ got: String) -> SpQRError {
            SpQRError(.invalidSetting, "expected \(expected), got \(got)")
        }
        let value: SettingValue
        switch (domain, json) {
        case (.integer(_, _, let unset), .null) where unset != nil: value = .none
        case (.integer, .int(let i)): value = .integer(i)
        case (.number, .int(let i)): value = .number(Double(i))
        case (.number, .double(let d)): value = .number(d)
        case (.number(_, let inf), .string(let s)) where inf != nil && Self.infinityWords.contains(s):
            value = .number(.infinity)
        case (.flag, .bool(let b)), (.binary, .bool(let b)): value = .boolean(b)
        case (.binary, .null): value = .boolean(false)
        case (.binary, .int(let i)) where i == 0 || i == 1: value = .boolean(i == 1)
        case (.choice, .string(let s)): value = .choice(s)
        default: throw fail(jsonTypePhrase, json.typeDescription)
        }
        if rangeProblem(value) != nil {
            if case .choice(let name) = value { throw fail(jsonRangePhrase, "\"\(name)\"") }
            throw fail(jsonRangePhrase, value.description)
        }
        return value
    }

    /// The recipe's JSON form of a value: `null` when unset, "inf" for no outliers.
    public func json(_ value: SettingValue) -> RecipeValue {
        switch value {
        case .integer(let i): return .int(i)
        case .number(let d): return d.isFinite ? .double(d) : .string(value.description)
        case .boolean(let b): return .bool(b)
        case .choice(let s): return .string(s)
        case .none: return .null
        }
    }
}

extension RecipeValue {
    /// The value as error messages name it ("the number 3", "the string \"x\"").
    public var typeDescription: String {
        switch self {
        case .int(let i): return "the number \(i)"
        case .double(let d): return "the number \(d)"
        case .bool(let b): return "a boolean (\(b))"
        case .string(let s): return "the string \"\(s)\""
        case .null: return "null"
        }
    }

    /// A scalar from `JSONSerialization` (nil for arrays and objects).
    public init?(jsonObject x: Any) {
        switch x {
        case is NSNull: self = .null
        case let n as NSNumber where String(cString: n.objCType) == "c": self = .bool(n.boolValue)
        case let n as NSNumber: self = JSONValue.integer(n).map { .int($0) } ?? .double(n.doubleValue)
        case let s as String: self = .string(s)
        default: return nil
        }
    }
}
