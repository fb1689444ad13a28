// A menu of settings to measure a layer at: the cross product of a few settings' values around a base
// configuration,
//
//     configs(base) = { base with s₁ = v₁, …, s_k = v_k : v_i ∈ values(s_i) }   (first axis slowest)
//
// Every setting not on an axis keeps the base's value. The trade-off view of one layer and the per-layer
// error–bits fronts of the whole model are measured over such a menu. The standard menu spans 2.08 to 8.63
// reference average bits before outliers (BitCost.referenceAverageBits): wbits 2…8, groupsize 16…128 with
// the base's second-level statistics, and outliers at the reference's threshold 0.2 or off.
//
// Text form (command lines, recipes, caches): axes separated by ";", each "name=v1,v2,…" with every value
// in its setting's text form, e.g. "wbits=2,3,4;groupsize=16,64;outlier_threshold=0.2,off" ("off" and
// "inf" are the same value; the text form writes "inf").

import Foundation

/// A grid of settings: axes of values for a few settings, crossed around a base configuration.
public struct SettingsMenu: Sendable, Equatable, CustomStringConvertible {
    /// One setting and the values the menu tries for it, in order.
    public struct Axis: Sendable, Equatable {
        public var setting: Setting
        public var values: [SettingValue]

        public init(setting: Setting, values: [SettingValue]) {
            self.setting = setting
            self.values = values
        }

        public static func == (a: Axis, b: Axis) -> Bool { a.setting.name == b.setting.name && a.values == b.values }
    }

    /// The axes, the first varying slowest.
    public var axes: [Axis]

    public init(axes: [Axis]) { self.axes = axes }

    /// wbits 2, 3, 4, 5, 6, 8 × groupsize 16, 32, 64, 128 × outlier_threshold 0.2, off: 48 settings from
    /// 2.08 (wbits 2, groupsize 128) to 8.63 (wbits 8, groupsize 16) average bits before outliers.
    public static let standard = SettingsMenu(axes: [
        Axis(setting: .wbits, values: [2, 3, 4, 5, 6, 8].map { .integer($0) }),
        Axis(setting: .groupsize, values: [16, 32, 64, 128].map { .integer($0) }),
        Axis(setting: .outlierThreshold, values: [.number(0.2), .number(.infinity)]),
    ])

    /// Number of settings in the menu.
    public var count: Int { axes.reduce(1) { $0 * $1.values.count } }

    /// Every combination on top of `base`, the first axis varying slowest. Throws when a combination is
    /// not a valid configuration (names the setting and value).
    public func configs(around base: SpQRConfig) throws -> [SpQRConfig] {
        var configs = [base]
        for axis in axes {
            configs = try configs.flatMap { c in
                try axis.values.map { v in
                    var x = c
                    try axis.setting.set(v, in: &x)
                    return x
                }
            }
        }
        for c in configs { try c.validate() }
        return configs
    }

    /// The text form: "name=v1,v2;name=…".
    public var description: String {
        axes.map { a in a.setting.name + "=" + a.values.map { a.setting.text(of: $0) }.joined(separator: ",") }
            .joined(separator: ";")
    }

    /// Reads the text form. Errors name the part that is wrong: an unknown setting, a setting given twice,
    /// an empty list or a value the setting does not take.
    public static func parse(_ text: String) throws -> SettingsMenu {
        var axes: [Axis] = []
        for part in text.split(separator: ";", omittingEmptySubsequences: true) {
            let piece = part.trimmingCharacters(in: .whitespaces)
            guard let eq = piece.firstIndex(of: "=") else {
                throw SpQRError(.invalidSetting, "menu: '\(piece)' is not name=v1,v2,… (e.g. wbits=2,3,4)")
            }
            let name = piece[..<eq].trimmingCharacters(in: .whitespaces)
            guard let setting = Setting.named(name) else {
                throw SpQRError(
                    .invalidSetting,
                    "menu: unknown setting '\(name)'; known: \(Setting.all.map(\.name).joined(separator: ", "))")
            }
            guard !axes.contains(where: { $0.setting.name == name }) else {
                throw SpQRError(.invalidSetting, "menu: \(name) is given twice")
            }
            let raw = piece[piece.index(after: eq)...].split(separator: ",", omittingEmptySubsequences: false)
                .map { $0.trimmingCharacters(in: .whitespaces) }
            guard !raw.isEmpty, !raw.contains("") else {
                throw SpQRError(.invalidSetting, "menu: \(name) needs a comma-separated list of values")
            }
            axes.append(Axis(setting: setting, values: try raw.map { try setting.parse($0) }))
        }
        guard !axes.isEmpty else {
            throw SpQRError(.invalidSetting, "menu: empty; give name=v1,v2;… (e.g. \(SettingsMenu.standard))")
        }
        return SettingsMenu(axes: axes)
    }
}
