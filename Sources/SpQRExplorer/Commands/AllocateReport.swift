// What `allocate` prints: every layer's chosen settings with its bits and error (and, with sensitivities,
// the KL it gave alone at the reference and its KL per unit of proxy loss), and the totals (average bits,
// bytes, compression against fp16, predicted error, the gap to the Lagrangian bound, the error weight in
// use), as a table or JSON; the same figures as SpQRCore's Allocation.

import Foundation
import SpQRCore

struct AllocateReport: Encodable {
    struct Layer: Encodable {
        var layer: String
        var shape: [Int]
        var config: SpQRConfig
        /// Whether the recipe overrides its defaults for this layer.
        var overridden: Bool
        var avg_bits: Double
        var storage_bits: Int
        /// The predicted error: the proxy loss, times the sensitivity when measured.
        var error: Double
        var proxy_loss: Double
        var rel_proxy_error: Double
        var outlier_fraction: Double
        /// With --text: the KL with this layer alone quantized at the reference, and KL per unit of proxy loss.
        var sensitivity_kl: Double?
        var sensitivity: Double?
    }

    /// The uniform setting with the fewest average bits not below the allocation's.
    struct Uniform: Encodable {
        var config: SpQRConfig
        var avg_bits: Double
        var bytes: Int
        var error: Double
    }

    struct Totals: Encodable {
        var layers: Int
        var parameters_quantized: Int
        var parameters_kept: Int
        var avg_bits: Double
        var storage_bits: Int
        var bytes: Int
        var bytes_fp16: Int
        var compression_fp16: Double
        /// Σ of the layers' errors.
        var error: Double
        /// The minimised figure (error, or avg_bits for a maximum error), its lower bound and the gap.
        var minimised: String
        var bound: Double?
        var gap: Double?
        var lambda: Double?
        /// Whether the solver's branch and bound proved the choice optimal.
        var optimal: Bool
    }

    var model: String
    var calibration: String
    var error_weight: String
    var menu: String
    var target: String
    var recipe: String
    var defaults: SpQRConfig
    var measured_layers: Int
    var cached_layers: Int
    /// Seconds the solver took once the fronts were measured.
    var solve_seconds: Double
    var layers: [Layer]
    var totals: Totals
    var uniform: Uniform?

    init(
        model: String, allocation a: Allocation, fronts: ModelFronts, recipe: String, cachedLayers: Int,
        solveSeconds: Double
    ) {
        solve_seconds = solveSeconds
        self.model = model
        calibration = fronts.calibration
        error_weight = a.errorWeight
        menu = fronts.menu
        target = a.target.map(String.init(describing:)) ?? "none"
        self.recipe = recipe
        defaults = a.commonConfig
        measured_layers = fronts.layers.count - cachedLayers
        cached_layers = cachedLayers
        let defaults = self.defaults
        layers = a.choices.enumerated().map { i, c in
            let s = fronts.sensitivity?.layers[i]
            return Layer(
                layer: c.layer, shape: c.shape, config: c.config, overridden: c.config != defaults,
                avg_bits: c.point.avgBits, storage_bits: c.point.storageBits, error: c.error,
                proxy_loss: c.point.error, rel_proxy_error: c.point.relProxyError,
                outlier_fraction: c.point.outlierFraction, sensitivity_kl: s?.kl, sensitivity: s?.weight)
        }
        var minimised = "error"
        if case .maxError = a.target { minimised = "avg_bits" }
        totals = Totals(
            layers: a.choices.count, parameters_quantized: a.parameters, parameters_kept: a.keptParameters,
            avg_bits: a.avgBits, storage_bits: a.storageBits, bytes: a.bytes, bytes_fp16: a.bytesFP16,
            compression_fp16: a.compressionFP16, error: a.error, minimised: minimised, bound: a.bound, gap: a.gap,
            lambda: a.lambda, optimal: a.optimal)
        uniform = fronts.uniform(notBelow: a.avgBits).map {
            Uniform(config: $0.choices[0].config, avg_bits: $0.avgBits, bytes: $0.bytes, error: $0.error)
        }
    }

    var table: String {
        let weighted = layers.contains { $0.sensitivity != nil }
        var rows = [
            ["layer", "settings", "avg bits", weighted ? "pred. KL" : "error", "rel proxy err", "outliers"]
                + (weighted ? ["KL alone at ref", "KL per proxy loss"] : [])
        ]
        for l in layers {
            rows.append(
                [
                    l.layer + (l.overridden ? " *" : ""), ReportFormat.settings(l.config),
                    ReportFormat.fmt(l.avg_bits, 3), ReportFormat.sci(l.error), ReportFormat.sci(l.rel_proxy_error),
                    ReportFormat.pct(l.outlier_fraction),
                ] + (weighted ? [ReportFormat.sci(l.sensitivity_kl ?? 0), ReportFormat.sci(l.sensitivity ?? 0)] : []))
        }
        var out = ReportFormat.columns(rows)
        out += "\n* overrides the recipe's defaults (\(ReportFormat.settings(defaults)), the most common choice)"
        let t = totals
        let gap: String
        if let bound = t.bound, let g = t.gap {
            let unit = t.minimised == "error" ? "" : " bits"
            let relative = bound > 0 ? String(format: " (%.3g%% of it)", 100 * g / bound) : ""
            gap =
                "\(ReportFormat.sci(g))\(unit) above the Lagrangian bound \(ReportFormat.sci(bound))\(unit)\(relative)"
        } else {
            gap = "not solved"
        }
        let comparison: String
        if let u = uniform {
            let change = u.error > 0 ? String(format: ", %+.1f%% error here", 100 * (t.error / u.error - 1)) : ""
            comparison =
                "\(ReportFormat.settings(u.config)) for every layer: \(ReportFormat.fmt(u.avg_bits, 4)) bits, error \(ReportFormat.sci(u.error))\(change)"
        } else {
            comparison = "none of the menu's settings reaches these bits"
        }
        let summary = [
            ["target", target],
            ["calibration", calibration],
            ["error weight", error_weight],
            ["menu", menu],
            [
                "parameters",
                "\(t.parameters_quantized) quantized in \(t.layers) layers, \(t.parameters_kept) kept at fp16",
            ],
            ["average bits", ReportFormat.fmt(t.avg_bits, 4) + " (reference formula)"],
            [
                "model bytes",
                "\(t.bytes) (\(AllocationTarget.decimal(t.bytes)), ×\(ReportFormat.fmt(t.compression_fp16, 2)) smaller than fp16's \(AllocationTarget.decimal(t.bytes_fp16)))",
            ],
            ["predicted error", ReportFormat.sci(t.error) + " (Σ over the layers)"],
            ["gap to the bound", gap],
            [
                "optimal",
                t.optimal
                    ? "yes: the branch and bound finished, no choice within the target does better"
                    : "not proven (the branch and bound stopped at its node limit; the gap bounds the loss)",
            ],
            ["uniform, ≥ these bits", comparison],
            [
                "measured",
                "\(measured_layers) layers measured, \(cached_layers) from the cache; solved in \(String(format: "%.3f", solve_seconds)) s",
            ],
            ["recipe", recipe],
        ]
        return out + "\n\n" + ReportFormat.columns(summary)
    }
}
