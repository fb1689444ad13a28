// Text and JSON renderings of a layer report for the headless commands.

import Foundation
import SpQRCore

enum ReportFormat {
    /// One JSON object, keys sorted.
    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func fmt(_ v: Double, _ digits: Int = 4) -> String {
        v.isFinite ? String(format: "%.\(digits)f", v) : (v > 0 ? "inf" : v.isNaN ? "nan" : "-inf")
    }

    static func sci(_ v: Double) -> String { v.isFinite ? String(format: "%.4e", v) : "\(v)" }

    static func pct(_ v: Double) -> String { String(format: "%.3f%%", 100 * v) }

    /// The settings a whole-model table shows per layer: "3b g16 τ 0.2" (g row without groups, τ off).
    static func settings(_ c: SpQRConfig) -> String {
        let tau = Setting.outlierThreshold.label(of: Setting.outlierThreshold.value(in: c))
        return "\(c.wbits)b g\(c.groupsize.map(String.init) ?? "row") τ \(tau)"
    }

    /// A byte count in binary units with one decimal ("24.0 MiB"); plain bytes below 1 KiB.
    static func bytes(_ n: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
        var v = Double(n)
        var u = 0
        while v >= 1024 && u < units.count - 1 {
            v /= 1024
            u += 1
        }
        return u == 0 ? "\(n) B" : String(format: "%.1f ", v) + units[u]
    }

    /// Left-aligned columns separated by two spaces (the last column unpadded).
    static func columns(_ rows: [[String]]) -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: width)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        return rows.map { r in
            r.enumerated().map { i, c in
                i == r.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }
            .joined(separator: "  ")
        }.joined(separator: "\n")
    }

    /// A readable table of the figures and baselines; the proxy error is named for the calibration `kind`.
    static func table(_ r: LayerReport, calibration kind: CalibrationKind) -> String {
        let b = baselines(r)
        return figures(r, calibration: kind) + (b.isEmpty ? "" : "\n\n" + b)
    }

    /// The SpQR figures of `table`, without the baselines.
    static func figures(_ r: LayerReport, calibration kind: CalibrationKind) -> String {
        var rows: [(String, String)] = [
            ("layer", "\(r.layer)  [\(r.shape.map(String.init).joined(separator: " x "))]"),
            ("calibration", r.calibration ?? "-"),
            ("outliers", "\(r.nOutliers)  (\(pct(r.outlierFraction)))"),
            ("tau", r.tau.map(sci) ?? "off"),
            ("avg bits (reference)", fmt(r.avgBits)),
            ("avg bits w/o outliers", fmt(r.avgBitsWithoutOutliers)),
            ("storage bits", "\(r.storageBits)  (\(fmt(r.storageBitsPerWeight)) per weight)"),
            ("compression vs fp16", fmt(r.compressionRatioFP16, 2) + "x"),
        ]
        if let c = r.compressionRatioSource, let d = r.sourceDtype {
            rows.append(("compression vs \(d)", fmt(c, 2) + "x"))
        }
        rows += [
            ("rel weight error", sci(r.relWeightError)),
            (kind.proxyErrorLabel, sci(r.relProxyError)),
            ("sensitivity concentration", pct(r.sensitivityConcentration)),
            ("error concentration", r.errorConcentration.map(pct) ?? "-"),
            ("dead columns", "\(r.deadColumns)"),
        ]
        if let s = r.seconds { rows.append(("seconds", fmt(s, 3))) }
        if let w = r.sizeWarning { rows.append(("warning", w)) }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(
            separator: "\n")
    }

    /// The baselines of `table` beside SpQR, or "" when the report has none.
    static func baselines(_ r: LayerReport) -> String {
        var out = ""
        if let rtn = r.rtn, let gptq = r.gptq {
            var table = [["", "avg bits", "rel weight err", "rel proxy err", "error concentration"]]
            func line(_ name: String, _ f: BaselineFigures) -> [String] {
                [name, fmt(f.avgBits), sci(f.relWeightError), sci(f.relProxyError), pct(f.errorConcentration)]
            }
            table.append(line("round-to-nearest", rtn))
            table.append(line("GPTQ (no outliers)", gptq))
            var settings: [String] = []
            for (name, b) in [("round-to-nearest ≤ SpQR bits", r.rtnAtBits), ("GPTQ ≤ SpQR bits", r.gptqAtBits)] {
                guard let b else { continue }
                table.append(line(name, b.figures))
                settings.append("\(name): \(EqualBitSearch.summary(b.settings))")
            }
            table.append([
                "SpQR", fmt(r.avgBits), sci(r.relWeightError), sci(r.relProxyError),
                r.errorConcentration.map(pct) ?? "-",
            ])
            out = columns(table)
            if !settings.isEmpty { out += "\n\n" + settings.joined(separator: "\n") }
        }
        return out
    }
}
