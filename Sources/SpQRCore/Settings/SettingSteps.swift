// Stepping a setting through its ordered steps (`Setting.steps`), as the explorer's sliders and advanced
// panel do.
//
// A value on the list moves one step and stops at either end. A number that is not on the list (a recipe's
// groupsize 24, a threshold of 0.25) moves to the nearest numeric step in the direction asked — the next
// larger or the next smaller one — and a number beyond every step moves to the nearest end. "Off" (no
// outliers) is the last step and the steps of such a setting form a cycle: up from "off" is the first step,
// down from it the step before it. Numbers match a step within a relative 1e-9, so a value read back from
// text still counts as on the list.

extension Setting {
    /// The settings on the explorer's advanced panel, in their order there.
    public static let advanced: [Setting] = [
        qqScaleBits, qqZeroBits, qqGroupsize, permutationOrder, percdamp, simplifiedOutliers,
    ]

    /// The "off" value of a setting that can be turned off (outlier_threshold: inf), or nil.
    public var offValue: SettingValue? {
        if case .number(_, infinity: .some) = domain { return .number(.infinity) }
        return nil
    }

    /// The index of `value` in `steps`, or nil when it is not on the list.
    public func stepIndex(of value: SettingValue) -> Int? {
        steps.firstIndex { step in
            guard case .number(let a) = step, case .number(let b) = value, a.isFinite, b.isFinite else {
                return step == value
            }
            return abs(a - b) <= 1e-9 * max(abs(a), abs(b))
        }
    }

    /// The value one step from `value`: `delta` > 0 is the next step, < 0 the previous one.
    public func step(_ value: SettingValue, by delta: Int) -> SettingValue {
        guard !steps.isEmpty, delta != 0 else { return value }
        if let off = offValue, value == off, let i = stepIndex(of: off) {
            return steps[delta > 0 ? (i + 1) % steps.count : (i + steps.count - 1) % steps.count]
        }
        if let i = stepIndex(of: value) { return steps[max(0, min(steps.count - 1, i + delta.signum()))] }
        guard let x = value.numeric else { return value }
        let numeric = steps.filter { $0.numeric != nil }
        guard let lowest = numeric.min(by: { $0.numeric! < $1.numeric! }),
            let highest = numeric.max(by: { $0.numeric! < $1.numeric! })
        else { return value }
        if delta > 0 { return numeric.filter { $0.numeric! > x }.min { $0.numeric! < $1.numeric! } ?? highest }
        return numeric.filter { $0.numeric! < x }.max { $0.numeric! < $1.numeric! } ?? lowest
    }

    /// `config` with this setting moved one step (see `step(_:by:)`).
    public func step(_ config: inout SpQRConfig, by delta: Int) {
        try? set(step(value(in: config), by: delta), in: &config)
    }

    /// `config` with this setting turned off, or, when it is off, back to `previous` (the value it had
    /// before it was turned off) or else to its default (`SpQRConfig()`). Settings without an off value are
    /// left as they are.
    public func toggleOff(_ config: inout SpQRConfig, restoring previous: SettingValue? = nil) {
        guard let off = offValue else { return }
        let on = previous.flatMap { $0 == off ? nil : $0 } ?? value(in: SpQRConfig())
        try? set(value(in: config) == off ? on : off, in: &config)
    }

    /// Where `value` sits along the steps, from 0 (first) to 1 (last); a number between two steps is placed
    /// proportionally between them. Nil when there are no steps or a non-numeric value is not on the list.
    public func position(of value: SettingValue) -> Double? {
        guard steps.count > 1 else { return steps.isEmpty ? nil : 0 }
        let last = Double(steps.count - 1)
        if let i = stepIndex(of: value) { return Double(i) / last }
        guard let x = value.numeric else { return nil }
        let numeric = steps.indices.compactMap { i in steps[i].numeric.flatMap { $0.isFinite ? (i, $0) : nil } }
        guard let first = numeric.first, let end = numeric.last else { return nil }
        if x <= first.1 { return Double(first.0) / last }
        if x >= end.1 { return Double(end.0) / last }
        let k = numeric.firstIndex { $0.1 > x }!
        let (i0, a) = numeric[k - 1]
        let (i1, b) = numeric[k]
        return (Double(i0) + (x - a) / (b - a) * Double(i1 - i0)) / last
    }
}
