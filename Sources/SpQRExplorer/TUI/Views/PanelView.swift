// The right-hand panel: settings (sliders), figures of the run (preview or full), baselines, the
// inspector of the cell under the cursor, and the rows and columns that carry the most error.

import Foundation
import SpQRCore

enum PanelView {
    typealias Line = (text: String, style: Style)

    /// Panels narrower than this show the compact baseline table (method, bits, proxy error).
    static let compactWidth = 50

    /// The sections in order of importance; on a panel too short for them with blank lines between, the
    /// blank lines go first, so settings, figures and the whole baseline table stay in view.
    static func render(_ m: PanelModel, _ r: Rect, _ b: inout CellBuffer) {
        let compact = r.width < compactWidth
        var sections = [settings(m), figures(m, compact: compact), baselines(m, compact: compact), inspector(m)]
        if let maps = m.maps { sections.append(top(maps)) }
        sections = sections.filter { !$0.isEmpty }
        let spaced = sections.dropLast().reduce(0) { $0 + $1.count + 1 } + (sections.last?.count ?? 0) <= r.height
        let lines = sections.enumerated().flatMap { i, s in (spaced && i > 0 ? [("", Style.plain)] : []) + s }
        for (i, l) in lines.enumerated() where i < r.height {
            b.write(l.text, x: r.x, y: r.y + i, style: l.style, clip: r)
        }
    }

    static func slider(_ name: String, _ value: String, _ position: Double, keys: String, unicode: Bool) -> String {
        let bar = Bars.knob(position, width: 8, unicode: unicode)
        return name.padding(toLength: 18, withPad: " ", startingAt: 0)
            + value.padding(toLength: 6, withPad: " ", startingAt: 0) + bar + "  " + keys
    }

    static func settings(_ m: PanelModel) -> [Line] {
        let c = m.settings
        let u = m.unicode
        let position = m.sliders
        let overridden = m.defaults.map { Setting.differences($0, from: c) } ?? [:]
        /// "*" after a value the open layer overrides.
        func mark(_ s: Setting) -> String { overridden[s.name] == nil ? "" : "*" }
        var out: [Line] = [
            ("Settings", .bold),
            (slider("wbits", "\(c.wbits)" + mark(.wbits), position.wbits, keys: "w/W", unicode: u), .plain),
            (
                slider(
                    "groupsize", (c.groupsize.map(String.init) ?? "none") + mark(.groupsize), position.groupsize,
                    keys: "g/G", unicode: u),
                .plain
            ),
            (
                slider(
                    "outlier_threshold",
                    (c.outlierThreshold.isFinite ? Num.short(c.outlierThreshold) : "off") + mark(.outlierThreshold),
                    position.outlierThreshold, keys: "t/T x", unicode: u), .plain
            ),
        ]
        if m.showAdvanced {
            for (i, a) in m.advanced.enumerated() {
                let focus = i == m.advancedFocus
                out.append(
                    (
                        (focus ? "▸ " : "  ") + a.name.padding(toLength: 20, withPad: " ", startingAt: 0) + a.value
                            + (overridden[a.name] == nil ? "" : "*") + (focus ? "   < >" : ""),
                        focus ? .reverse : .plain
                    ))
            }
        } else {
            func label(_ setting: Setting) -> String { setting.label(of: setting.value(in: c)) + mark(setting) }
            let qq = "qq \(label(.qqScaleBits))/\(label(.qqZeroBits)) in \(label(.qqGroupsize))"
            let rest =
                "\(label(.permutationOrder)) · percdamp \(label(.percdamp))\(c.simplifiedOutliers ? " · simplified" : "")"
            out.append(("  \(qq) · \(rest)  [a]", .dim))
        }
        if !overridden.isEmpty {
            out.append(("  * default: " + AppState.describe(overridden), .dim))
        }
        return out
    }

    static func figures(_ m: PanelModel, compact: Bool = false) -> [Line] {
        guard let r = m.result else {
            return [
                ("Figures", .bold), (m.error.map { "error: \($0)" } ?? "computing…", m.error == nil ? .dim : .bold),
            ]
        }
        let f = r.figures
        let state =
            r.isPreview ? "PREVIEW (\(r.rowIndices.count) of \(r.outFeatures) rows)" : "FULL (\(r.outFeatures) rows)"
        let stale = r.config != m.settings ? "  · updating" : ""
        let sourceBits = m.sourceBitsPerWeight
        let qualifier = m.calibration.proxyErrorQualifier
        // The size warning, split at its clauses to fit the panel.
        let warning: [Line] = (f.sizeWarning?.components(separatedBy: "; ") ?? []).enumerated().map {
            (($0.offset == 0 ? "! " : "  ") + $0.element, .bold)
        }
        let bits: [Line] =
            compact
            ? [("avg/storage bits  \(Num.f(f.avgBits, 3))/\(Num.f(f.storageBitsPerWeight, 3))", .plain)]
            : [
                ("avg bits          \(Num.f(f.avgBits))  (reference formula)", .plain),
                ("storage bits/w    \(Num.f(f.storageBitsPerWeight))  (exact)", .plain),
            ]
        let size: [Line] =
            [("Figures  \(state)\(stale)", .bold)] + bits + [
                (
                    "compression       ×\(Num.f(f.compressionRatio(sourceBits: 16), 2)) fp16  ×\(Num.f(sourceBits * Double(f.parameters) / Double(max(f.storage.total, 1)), 2)) \(m.sourceDtype)",
                    .plain
                )
            ]
        let errors: [Line] = [
            ("outliers          \(f.nOutliers) (\(Num.pct(f.outlierFraction)))", .plain),
            ("rel weight error  \(Num.e(f.relWeightError))", .plain),
            ("rel proxy error   \(Num.e(f.relProxyError))" + (qualifier.map { "  (\($0))" } ?? ""), .plain),
            ("sensitivity conc. \(Num.pct(f.sensitivityConcentration))  (top 1% of weights, before outliers)", .plain),
            ("error conc.       \(Num.pct(f.errorConcentration))  (top 1% of weights, final error)", .plain),
        ]
        return size + warning + errors
    }

    /// Same-settings baselines, the equal-bit ones (or "searching…"), then SpQR, each with its average bits
    /// and its error concentration.
    static func baselines(_ m: PanelModel, compact: Bool = false) -> [Line] {
        // Compact: method, bits and proxy error only, with short names.
        let nameWidth = compact ? 12 : 18
        var out: [Line] = [
            compact
                ? ("Baselines   bits   proxy err", .bold)
                : ("Baselines         bits   weight err  proxy err   err conc.", .bold)
        ]
        let atMost = m.unicode ? "≤" : "<="
        if let b = m.baselines, let r = m.result, !r.isPreview {
            func row(_ n: String, _ bits: Double, _ w: Double, _ p: Double, _ t: Double) -> Line {
                let columns = compact ? Num.e(p) : Num.e(w) + "  " + Num.e(p) + "  " + Num.pct(t)
                return (
                    n.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                        + Num.f(bits, 3).padding(toLength: 7, withPad: " ", startingAt: 0) + columns, .plain
                )
            }
            func row(_ n: String, _ f: BaselineFigures) -> Line {
                row(n, f.avgBits, f.relWeightError, f.relProxyError, f.errorConcentration)
            }
            out.append(row(compact ? "RTN" : "round-to-nearest", b.rtn))
            out.append(row(compact ? "GPTQ" : "GPTQ (no outl.)", b.gptq))
            let suffix = compact ? "SpQR" : "SpQR bits"
            if let e = m.equalBitBaselines {
                for (method, x) in [("RTN", e.rtn), ("GPTQ", e.gptq)] {
                    let name = "\(method) \(atMost) \(suffix)"
                    if let x {
                        out.append(row(name, x.figures))
                    } else {
                        out.append(
                            (
                                name.padding(toLength: nameWidth, withPad: " ", startingAt: 0)
                                    + (compact ? "none fits" : "none in the grid fits"), .dim
                            ))
                    }
                }
            } else {
                out.append(
                    (
                        "\(atMost) \(suffix)".padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "searching…",
                        .dim
                    ))
            }
            let f = r.figures
            out.append(row("SpQR", f.avgBits, f.relWeightError, f.relProxyError, f.errorConcentration))
            if !compact, let e = m.equalBitBaselines {
                for (name, x) in [("RTN", e.rtn), ("GPTQ", e.gptq)] {
                    if let x { out.append(("  \(name): \(EqualBitSearch.summary(x.settings))", .dim)) }
                }
            }
        } else {
            out.append(("computed after the full layer…", .dim))
        }
        return out
    }

    static func inspector(_ m: PanelModel) -> [Line] {
        guard let maps = m.maps, let result = m.result, let cursor = m.cursor else { return [] }
        let (rr, cr) = cursor
        let count = rr.count * cr.count
        var outliers = 0
        var maxS: Float = -1
        var best = (rr.lowerBound, cr.lowerBound)
        var sumW: Double = 0
        var sumE: Double = 0
        for r in rr {
            for c in cr {
                let k = r * maps.cols + c
                outliers += Int(maps.mask[k])
                sumW += Double(abs(maps.weights[k]))
                sumE += Double(maps.error[k])
                if maps.sensitivity[k] > maxS {
                    maxS = maps.sensitivity[k]
                    best = (r, c)
                }
            }
        }
        var out: [Line] = [
            (
                "Inspector  rows \(rr.lowerBound)–\(rr.upperBound - 1)  cols \(cr.lowerBound)–\(cr.upperBound - 1)\(maps.shownColumns == nil ? "" : " (GPTQ order)")  (\(count) w)",
                .bold
            )
        ]
        out.append(
            (
                "mean |w| \(Num.short(sumW / Double(count)))  outliers \(outliers)  error share \(Num.pct(sumE / max(maps.totalError, 1e-300)))",
                .plain
            ))
        let (r, shown) = best
        let k = r * maps.cols + shown
        let c = maps.fileColumn(shown)
        let perm = Permutation.inverse(result.permutation)
        let stats = result.statistics
        let quant =
            result.rowIndices.count == maps.rows
            ? stats.quantizer(row: r, permutedColumn: perm[c], maxq: Float((1 << result.config.wbits) - 1)) : nil
        out.append(
            (
                "w[\(r),\(c)] \(Num.short(Double(maps.weights[k])))  q \(Num.short(Double(maps.quantized[k])))  e² \(Num.short(Double(maps.sensitivity[k])))\(maps.mask[k] != 0 ? "  OUTLIER" : "")",
                maps.mask[k] != 0 ? .bold : .plain
            ))
        if let q = quant {
            out.append(
                (
                    "group \(perm[c] / stats.groupsize)  scale \(Num.short(Double(q.scale)))  zero \(Num.short(Double(q.zero)))",
                    .dim
                ))
        }
        return out
    }

    static func top(_ maps: HeatmapMaps) -> [Line] {
        let total = max(maps.totalError, 1e-300)
        let rows = maps.mostErrorRows
        let cols = maps.mostErrorCols
        return [
            ("Most error", .bold),
            (
                "rows  "
                    + rows.map { "\($0): \(Num.pct(maps.rowError[$0] / total)) (\(maps.rowOutliers[$0]) outl.)" }
                    .joined(separator: "  "), .plain
            ),
            (
                "cols  "
                    + cols.map {
                        "\(maps.fileColumn($0)): \(Num.pct(maps.colError[$0] / total)) (\(maps.colOutliers[$0]) outl.)"
                    }
                    .joined(separator: "  "), .plain
            ),
        ]
    }
}
