// One SpQR setting, described once: its reference `main.py` flag name, where it lives in `SpQRConfig`,
// the values the reference accepts, how it reads from command-line text and from recipe JSON, how it is
// written back, a one-line help text and the steps the explorer offers. The settings themselves are listed
// in SpQRSettings.swift; `SpQRConfig`'s coding and validation, the recipe reader and writer, the command
// line, the JSON Schema, the sweep's columns and the reference command all derive from these descriptions.
//
// Value spellings: text (command line, CSV) takes `none`/`null`/`off` for an unset whole number,
// `inf`/`off`/`none` for "no outliers" (any case), 1/0, true/false and yes/no for on/off, and choices in
// snake_case or kebab-case. JSON takes `null` for an unset whole number and the strings "inf", "off" or
// "none" for "no outliers", and is written with `null` and "inf".

import Foundation

/// A setting's value, whatever the setting's type.
public enum SettingValue: Sendable, Hashable, CustomStringConvertible {
    /// A whole number (bits, group sizes, block size).
    case integer(Int)
    /// A real number; `.infinity` is "off" for a setting that has an off value.
    case number(Double)
    /// On or off.
    case boolean(Bool)
    /// One of a fixed set of names (the raw value).
    case choice(String)
    /// Unset (reference `None`): one group per row, 16-bit statistics.
    case none

    /// The value as a number, for ordering whole and real numbers together.
    var numeric: Double? {
        switch self {
        case .integer(let i): return Double(i)
        case .number(let d): return d
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .integer(let i): return "\(i)"
        case .number(let d): return d.isInfinite && d > 0 ? "inf" : "\(d)"
        case .boolean(let b): return "\(b)"
        case .choice(let s): return s
        case .none: return "none"
        }
    }
}

/// A Swift type a setting is stored as in `SpQRConfig`.
public protocol SettingRepresentable: Sendable {
    /// The value in the common form.
    var settingValue: SettingValue { get }
    /// The stored form of `value`, or nil when `value` is of another kind.
    init?(settingValue value: SettingValue)
}

extension Int: SettingRepresentable {
    public var settingValue: SettingValue { .integer(self) }
    public init?(settingValue value: SettingValue) {
        guard case .integer(let i) = value else { return nil }
        self = i
    }
}

extension Optional: SettingRepresentable where Wrapped == Int {
    public var settingValue: SettingValue { map { .integer($0) } ?? .none }
    public init?(settingValue value: SettingValue) {
        switch value {
        case .integer(let i): self = i
        case .none: self = nil
        default: return nil
        }
    }
}

extension Double: SettingRepresentable {
    public var settingValue: SettingValue { .number(self) }
    public init?(settingValue value: SettingValue) {
        guard case .number(let d) = value else { return nil }
        self = d
    }
}

extension Bool: SettingRepresentable {
    public var settingValue: SettingValue { .boolean(self) }
    public init?(settingValue value: SettingValue) {
        guard case .boolean(let b) = value else { return nil }
        self = b
    }
}

extension PermutationOrder: SettingRepresentable {
    public var settingValue: SettingValue { .choice(rawValue) }
    public init?(settingValue value: SettingValue) {
        guard case .choice(let s) = value else { return nil }
        self.init(rawValue: s)
    }
}

/// One setting of the reference SpQR engine.
public struct Setting: Sendable {
    /// The values a setting takes.
    public enum Domain: Sendable {
        /// A whole number of `unit` in the range; with `unset`, also none (meaning `unset`, e.g. "one group per row").
        case integer(ClosedRange<Int>, unit: String, unset: String?)
        /// A finite number of at least `minimum`; with `infinity`, also inf (meaning `infinity`, e.g. "no outliers").
        case number(minimum: Double, infinity: String?)
        /// On or off; on the command line a flag that turns it on (`negation`: the help of `--no-NAME`, which turns it off).
        case flag(negation: String?)
        /// On or off, given as 1 or 0 (the reference reads `--round_zero` as an integer; `None` is off).
        case binary
        /// One of the names, in snake_case.
        case choice([String])
    }

    /// How the reference `main.py` command line carries the setting.
    public enum ReferenceFlag: Sendable {
        /// `--NAME VALUE`, a flag alone for on/off settings; left out when unset or off.
        case separate
        /// `--NAME=VALUE`, as the SpQR README writes it; left out when off.
        case joined
        /// No flag: `main.py` always uses `value`; `note` says what that means for other values.
        case absent(uses: SettingValue, note: String)
    }

    /// The reference `main.py` flag name (snake_case); also the recipe's JSON key.
    public let name: String
    /// One line of help: what the setting means, without a final period (see `commandLineHelp` and
    /// `jsonSchema` for the forms with value spellings).
    public let help: String
    /// The valid values, as the reference accepts them.
    public let domain: Domain
    /// The reference command-line form.
    public let reference: ReferenceFlag
    /// The values the explorer steps through, in order.
    public let steps: [SettingValue]
    /// Where the setting lives in `SpQRConfig`.
    public let keyPath: PartialKeyPath<SpQRConfig> & Sendable
    private let read: @Sendable (SpQRConfig) -> SettingValue
    private let write: @Sendable (inout SpQRConfig, SettingValue) -> Bool

    /// A setting stored at `keyPath` as `T`.
    init<T: SettingRepresentable>(_ name: String, _ keyPath: WritableKeyPath<SpQRConfig, T> & Sendable, _ domain: Domain,
                                  reference: ReferenceFlag = .separate, steps: [T], help: String) {
        self.name = name
        self.help = help
        self.domain = domain
        self.reference = reference
        self.steps = steps.map(\.settingValue)
        self.keyPath = keyPath
        read = { $0[keyPath: keyPath].settingValue }
        write = { config, value in
            guard let v = T(settingValue: value) else { return false }
            config[keyPath: keyPath] = v
            return true
        }
    }

    /// The setting's value in `config`.
    public func value(in config: SpQRConfig) -> SettingValue { read(config) }

    /// Stores `value` in `config` (its range is checked by `SpQRConfig.validate()`).
    /// - Throws: `invalidSetting` when `value` is not of this setting's kind.
    public func set(_ value: SettingValue, in config: inout SpQRConfig) throws {
        guard write(&config, value) else {
            throw SpQRError(.invalidSetting, "\(name) takes \(textPhrase.replacingOccurrences(of: "'", with: "")), got \(value)")
        }
    }

    // MARK: Range

    /// Why `value` is out of range, as the end of "NAME must be …" (nil when it is valid).
    public func rangeProblem(_ value: SettingValue) -> String? {
        switch (domain, value) {
        case (.integer(_, _, let unset), .none) where unset != nil: return nil
        case (.integer(let r, _, _), .integer(let i)) where r.contains(i): return nil
        case (.number(let m, let inf), .number(let d)) where d >= m && (d.isFinite || (inf != nil && d > 0)): return nil
        case (.flag, .boolean), (.binary, .boolean): return nil
        case (.choice(let names), .choice(let s)) where names.contains(s): return nil
        default: return mustBe
        }
    }

    /// The valid values after "must be".
    var mustBe: String {
        switch domain {
        case .integer(let r, let unit, let unset):
            let bounds = r.upperBound != Int.max ? "between \(r.lowerBound) and \(r.upperBound)"
                : r.lowerBound == 1 ? "a positive number of \(unit)" : "at least \(r.lowerBound) \(unit)"
            return bounds + (unset.map { " (or none for \($0))" } ?? "")
        case .number(let m, let inf):
            return Self.atLeast(m) + (inf.map { " or inf (\($0))" } ?? "")
        case .flag, .binary: return "on or off"
        case .choice(let names): return Self.list(names)
        }
    }

    static func atLeast(_ m: Double) -> String { m == 0 ? "a non-negative number" : "a number of at least \(m)" }

    /// "a, b or c".
    static func list(_ items: [String]) -> String {
        items.count < 2 ? items.joined() : items.dropLast().joined(separator: ", ") + " or " + items.last!
    }

    // MARK: Text

    /// The text spellings of an unset whole number and of "no outliers".
    static let unsetWords = ["none", "null", "off"], infinityWords = ["inf", "off", "none"]

    /// What the command line takes, after "--NAME takes".
    var textPhrase: String {
        switch domain {
        case .integer(_, _, let unset): return "a whole number" + (unset == nil ? "" : " or 'none'")
        case .number(_, let inf): return "a number" + (inf == nil ? "" : " or 'inf'")
        case .flag: return "true or false"
        case .binary: return "1 or 0"
        case .choice(let names): return Self.list(names)
        }
    }

    /// The help with the text spellings it takes ("Input columns per group, or 'none' for one group per row.").
    public var commandLineHelp: String {
        switch domain {
        case .integer(_, _, let unset?): return "\(help), or 'none' for \(unset)."
        case .number(_, let inf?): return "\(help), or 'inf'/'off' for \(inf)."
        case .binary: return "\(help): 1 or 0 (reference: --\(name) 1)."
        case .choice(let names): return "\(help): \(Self.list(names))."
        default: return "\(help)."
        }
    }

    /// Reads one value from command-line text (range unchecked: `SpQRConfig.validate()` checks it).
    /// - Throws: `invalidSetting` naming the flag, what it takes and what it got.
    public func parse(_ text: String) throws -> SettingValue {
        let word = text.lowercased()
        let value: SettingValue?
        switch domain {
        case .integer(_, _, let unset):
            value = unset != nil && Self.unsetWords.contains(word) ? SettingValue.none : Int(text).map { .integer($0) }
        case .number(_, let inf):
            value = inf != nil && Self.infinityWords.contains(word) ? .number(.infinity) : Double(text).map { .number($0) }
        case .flag, .binary:
            let off = ["0", "false", "no"] + (domainIsBinary ? ["none"] : [])
            value = ["1", "true", "yes"].contains(word) ? .boolean(true) : off.contains(word) ? .boolean(false) : nil
        case .choice(let names):
            let snake = text.replacingOccurrences(of: "-", with: "_")
            value = names.contains(snake) ? .choice(snake) : nil
        }
        guard let value else { throw SpQRError(.invalidSetting, "--\(name) takes \(textPhrase), got '\(text)'") }
        return value
    }

    private var domainIsBinary: Bool { if case .binary = domain { return true } else { return false } }

    /// The text form of `value` that `parse` reads back (command line, CSV, messages).
    public func text(of value: SettingValue) -> String { value.description }

    /// A short label for a value on screen: "off" for no outliers, numbers to three significant digits.
    public func label(of value: SettingValue) -> String {
        switch value {
        case .number(let d) where d.isInfinite && d > 0: return "off"
        case .number(let d) where d == 0: return "0"
        case .number(let d) where abs(d) >= 0.01 && abs(d) < 1000: return String(format: "%.3g", d)
        case .number(let d): return String(format: "%.2e", d)
        default: return value.description
        }
    }

    // MARK: JSON

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
            let bounds = r.upperBound != Int.max ? "an integer from \(r.lowerBound) to \(r.upperBound)"
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
        func fail(_ expected: String, _ got: String) -> SpQRError { SpQRError(.invalidSetting, "expected \(expected), got \(got)") }
        let value: SettingValue
        switch (domain, json) {
        case (.integer(_, _, let unset), .null) where unset != nil: value = .none
        case (.integer, .int(let i)): value = .integer(i)
        case (.number, .int(let i)): value = .number(Double(i))
        case (.number, .double(let d)): value = .number(d)
        case (.number(_, let inf), .string(let s)) where inf != nil && Self.infinityWords.contains(s): value = .number(.infinity)
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
