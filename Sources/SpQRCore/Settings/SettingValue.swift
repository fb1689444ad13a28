// The value of any setting in one form (`SettingValue`), and the Swift types `SpQRConfig` stores settings as,
// which convert to and from it. Whole and real numbers order together, so steps can mix them with none.

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
