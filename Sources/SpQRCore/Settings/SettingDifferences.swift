// A configuration as a base plus overrides: the settings whose values in `c` differ from those in `base`
// (compared as `Setting.value(in:)`), and a base with such overrides applied. A recipe's per-layer
// `overrides` and the explorer's per-layer overrides are both this difference.

extension Setting {
    /// The settings of `c` that differ from `base`, by setting name.
    public static func differences(_ c: SpQRConfig, from base: SpQRConfig) -> [String: SettingValue] {
        var out: [String: SettingValue] = [:]
        for s in all where s.value(in: c) != s.value(in: base) { out[s.name] = s.value(in: c) }
        return out
    }

    /// `base` with `overrides` (as `differences` gives them) applied. A name that is not a setting, or a
    /// value out of its setting's range, leaves `base`'s value.
    public static func applying(_ overrides: [String: SettingValue], to base: SpQRConfig) -> SpQRConfig {
        var c = base
        for (name, value) in overrides { try? named(name)?.set(value, in: &c) }
        return c
    }
}
