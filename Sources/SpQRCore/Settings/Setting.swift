// One SpQR setting, described once: its reference `main.py` flag name, where it lives in `SpQRConfig`,
// the values the reference accepts, how it reads from command-line text and is written back as text, a
// one-line help text and the steps the explorer offers. Its JSON form is in SettingJSON.swift, its reference
// flag in ReferenceCommand.swift, its JSON Schema in SettingsJSONSchema.swift and stepping in
// SettingSteps.swift; the settings themselves are listed in SpQRSettings.swift. `SpQRConfig`'s coding and
// validation, the recipe reader and writer, the command line, the sweep's columns and the reference command
// all derive from these descriptions.
//
// Text spellings (command line, CSV): `none`/`null`/`off` for an unset whole number, `inf`/`off`/`none` for
// "no outliers" (any case), 1/0, true/false and yes/no for on/off, and choices in snake_case or kebab-case.

import Foundation

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
    init<T: SettingRepresentable>(
        _ name: String, _ keyPath: WritableKeyPath<SpQRConfig, T> & Sendable, _ domain: Domain,
        reference: ReferenceFlag = .separate, steps: [T], help: String
    ) {
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
            throw SpQRError(
                .invalidSetting, "\(name) takes \(textPhrase.replacingOccurrences(of: "'", with: "")), got \(value)")
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
            let bounds =
                r.upperBound != Int.max
                ? "between \(r.lowerBound) and \(r.upperBound)"
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
            value =
                inf != nil && Self.infinityWords.contains(word) ? .number(.infinity) : Double(text).map { .number($0) }
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

    /// `settings` of `config` as "wbits 3 · groupsize 16 · outlier_threshold 0.2", each named with its
    /// on-screen label.
    public static func summary(_ settings: [Setting], of config: SpQRConfig) -> String {
        settings.map { "\($0.name) \($0.label(of: $0.value(in: config)))" }.joined(separator: " · ")
    }
}
