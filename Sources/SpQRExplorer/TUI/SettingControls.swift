// The settings the layer view steps through, taken from the one description of each setting in SpQRCore
// (`Setting`): the three sliders (wbits, groupsize, outlier_threshold), the advanced panel
// (`Setting.advanced`), and the function that applies a slider or advanced-panel action to a
// configuration. The reducer changes settings and the panel draws them only through this file.

import SpQRCore

enum SettingControls {
    /// Applies a slider or advanced-panel action to the settings; turning outliers back on restores
    /// `thresholdBeforeOff` (the threshold they were turned off at) when there is one.
    static func adjust(_ c: inout SpQRConfig, _ a: Action, advancedFocus: Int, thresholdBeforeOff: Double? = nil) {
        switch a {
        case .wbitsDown: Setting.wbits.step(&c, by: -1)
        case .wbitsUp: Setting.wbits.step(&c, by: 1)
        case .groupDown: Setting.groupsize.step(&c, by: -1)
        case .groupUp: Setting.groupsize.step(&c, by: 1)
        case .thresholdDown: Setting.outlierThreshold.step(&c, by: -1)
        case .thresholdUp: Setting.outlierThreshold.step(&c, by: 1)
        case .thresholdOff: Setting.outlierThreshold.toggleOff(&c, restoring: thresholdBeforeOff.map { .number($0) })
        case .advancedDecrease: Setting.advanced[advancedFocus].step(&c, by: -1)
        case .advancedIncrease: Setting.advanced[advancedFocus].step(&c, by: 1)
        default: break
        }
    }

    /// How many settings the advanced panel lists (its focus moves through them).
    static var advancedCount: Int { Setting.advanced.count }

    /// The advanced panel's rows: each setting's name and its value in `c`.
    static func advancedValues(_ c: SpQRConfig) -> [(name: String, value: String)] {
        Setting.advanced.map { ($0.name, $0.label(of: $0.value(in: c))) }
    }

    /// Where each slider's knob sits on its track, in [0, 1], by its position along the setting's steps
    /// ("off" is the last step of the threshold).
    static func sliderPositions(_ c: SpQRConfig) -> (wbits: Double, groupsize: Double, outlierThreshold: Double) {
        func position(_ s: Setting) -> Double { s.position(of: s.value(in: c)) ?? 0.5 }
        return (position(.wbits), position(.groupsize), position(.outlierThreshold))
    }
}
