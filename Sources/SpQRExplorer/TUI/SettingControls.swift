// The settings the layer view steps through: the slider tables (wbits, groupsize, outlier_threshold),
// the advanced-panel table (each setting with the values it steps through), and the function that
// applies a slider or advanced-panel action to a configuration. The reducer changes settings and the
// panel draws them only through this file's interface.

import Foundation
import SpQRCore

enum SettingControls {
    /// Slider steps.
    static let wbitsRange = 2...8
    static let groupSizes: [Int?] = [4, 8, 16, 32, 64, 128, 256, nil]
    static let thresholds: [Double] = [0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5]

    /// The settings on the advanced panel, with the values each steps through.
    struct AdvancedSetting {
        let name: String
        let values: [String]
        let get: @Sendable (SpQRConfig) -> String
        let set: @Sendable (inout SpQRConfig, String) -> Void
    }

    static let advanced: [AdvancedSetting] = [
        AdvancedSetting(name: "qq_scale_bits", values: ["none", "2", "3", "4", "8"],
                        get: { $0.qqScaleBits.map(String.init) ?? "none" }, set: { $0.qqScaleBits = Int($1) }),
        AdvancedSetting(name: "qq_zero_bits", values: ["none", "2", "3", "4", "8"],
                        get: { $0.qqZeroBits.map(String.init) ?? "none" }, set: { $0.qqZeroBits = Int($1) }),
        AdvancedSetting(name: "qq_groupsize", values: ["8", "16", "32", "64", "128"],
                        get: { String($0.qqGroupsize) }, set: { $0.qqGroupsize = Int($1)! }),
        AdvancedSetting(name: "permutation_order", values: PermutationOrder.allCases.map(\.rawValue),
                        get: { $0.permutationOrder.rawValue }, set: { $0.permutationOrder = PermutationOrder(rawValue: $1)! }),
        AdvancedSetting(name: "percdamp", values: ["0.01", "0.1", "1.0"],
                        get: { String($0.percdamp) }, set: { $0.percdamp = Double($1)! }),
        AdvancedSetting(name: "simplified_outliers", values: ["false", "true"],
                        get: { String($0.simplifiedOutliers) }, set: { $0.simplifiedOutliers = $1 == "true" }),
    ]

    /// Applies a slider action to the settings.
    static func adjust(_ c: inout SpQRConfig, _ a: Action, advancedFocus: Int) {
        switch a {
        case .wbitsDown: c.wbits = max(wbitsRange.lowerBound, min(wbitsRange.upperBound, c.wbits - 1))
        case .wbitsUp: c.wbits = min(wbitsRange.upperBound, max(wbitsRange.lowerBound, c.wbits + 1))
        case .groupDown, .groupUp:
            let i = groupSizes.firstIndex(of: c.groupsize) ?? groupSizes.firstIndex(of: 16)!
            c.groupsize = groupSizes[max(0, min(groupSizes.count - 1, i + (a == .groupUp ? 1 : -1)))]
        case .thresholdDown, .thresholdUp:
            // From "off", either direction comes back at the highest threshold (the fewest outliers).
            if !c.outlierThreshold.isFinite {
                c.outlierThreshold = thresholds.last!
                return
            }
            let i = thresholds.lastIndex { $0 <= c.outlierThreshold * (1 + 1e-9) } ?? 0
            if a == .thresholdUp {
                c.outlierThreshold = i + 1 < thresholds.count ? thresholds[i + 1] : .infinity
            } else {
                let exact = thresholds[i] >= c.outlierThreshold * (1 - 1e-9)
                c.outlierThreshold = thresholds[max(0, exact ? i - 1 : i)]
            }
        case .thresholdOff:
            c.outlierThreshold = c.outlierThreshold.isFinite ? .infinity : 0.2
        case .advancedDecrease, .advancedIncrease:
            let setting = advanced[advancedFocus]
            let current = setting.get(c)
            let i = setting.values.firstIndex(of: current) ?? 0
            let j = max(0, min(setting.values.count - 1, i + (a == .advancedIncrease ? 1 : -1)))
            setting.set(&c, setting.values[j])
        default: break
        }
    }
}

// The interface the reducer and the views use.
extension SettingControls {
    /// How many settings the advanced panel lists (its focus moves through them).
    static var advancedCount: Int { advanced.count }

    /// The advanced panel's rows: each setting's name and its value in `c`.
    static func advancedValues(_ c: SpQRConfig) -> [(name: String, value: String)] {
        advanced.map { ($0.name, $0.get(c)) }
    }

    /// Where each slider's knob sits on its track, in [0, 1]: wbits and groupsize by step, the threshold
    /// on a log scale over 90% of the track (the last 10% is "off").
    static func sliderPositions(_ c: SpQRConfig) -> (wbits: Double, groupsize: Double, outlierThreshold: Double) {
        let wbits = Double(c.wbits - wbitsRange.lowerBound) / Double(wbitsRange.upperBound - wbitsRange.lowerBound)
        let groupsize = groupSizes.firstIndex(of: c.groupsize).map { Double($0) / Double(groupSizes.count - 1) } ?? 0.5
        guard c.outlierThreshold.isFinite, let lo = thresholds.first, let hi = thresholds.last else {
            return (wbits, groupsize, 1)
        }
        return (wbits, groupsize, log(c.outlierThreshold / lo) / log(hi / lo) * 0.9)
    }
}
