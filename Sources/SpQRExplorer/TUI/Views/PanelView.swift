// The right-hand panel: settings (sliders), figures of the run (preview or full), baselines, the
// calibration source, the inspector of the cell under the cursor, and the rows and columns that carry
// the most error.

import Foundation
import SpQRCore

enum PanelView {
    typealias Line = (text: String, style: Style)

    static func render(_ s: AppState, _ layer: LayerSession, _ g: HeatmapGeometry, _ r: Rect, _ b: inout CellBuffer) {
        var lines: [Line] = []
        lines += settings(s)
        lines.append(("", .plain))
        lines += figures(s, layer)
        lines.append(("", .plain))
        lines += baselines(layer)
        lines.append(("", .plain))
        lines += inspector(s, layer, g)
        if let maps = layer.maps {
            lines.append(("", .plain))
            lines += top(maps)
        }
        for (i, l) in lines.enumerated() where i < r.height {
            b.write(l.text, x: r.x, y: r.y + i, style: l.style, clip: r)
        }
    }

    static func slider(_ name: String, _ value: String, _ position: Double, keys: String, unicode: Bool) -> String {
        let track = 8
        let k = Int((max(0, min(1, position)) * Double(track - 1)).rounded())
        let bar = (0..<track).map { $0 == k ? (unicode ? "●" : "o") : (unicode ? "─" : "-") }.joined()
        return name.padding(toLength: 18, withPad: " ", startingAt: 0) + value.padding(toLength: 6, withPad: " ", startingAt: 0) + bar + "  " + keys
    }

    static func settings(_ s: AppState) -> [Line] {
        let c = s.settings, u = s.capabilities.unicode
        let gi = Reducer.groupSizes.firstIndex(of: c.groupsize).map { Double($0) / Double(Reducer.groupSizes.count - 1) } ?? 0.5
        let ti: Double
        if c.outlierThreshold.isFinite {
            ti = log(c.outlierThreshold / Reducer.thresholds[0]) / log(Reducer.thresholds.last! / Reducer.thresholds[0]) * 0.9
        } else { ti = 1 }
        var out: [Line] = [
            ("Settings", .bold),
            (slider("wbits", "\(c.wbits)", Double(c.wbits - 2) / 6, keys: "w/W", unicode: u), .plain),
            (slider("groupsize", c.groupsize.map(String.init) ?? "none", gi, keys: "g/G", unicode: u), .plain),
            (slider("outlier_threshold", c.outlierThreshold.isFinite ? Num.short(c.outlierThreshold) : "off", ti, keys: "t/T x", unicode: u), .plain),
        ]
        if s.showAdvanced {
            for (i, a) in Reducer.advanced.enumerated() {
                let focus = i == s.advancedFocus
                out.append(((focus ? "▸ " : "  ") + a.name.padding(toLength: 20, withPad: " ", startingAt: 0) + a.get(c) + (focus ? "   < >" : ""),
                            focus ? .reverse : .plain))
            }
        } else {
            out.append(("  qq \(c.qqScaleBits.map(String.init) ?? "-")/\(c.qqZeroBits.map(String.init) ?? "-") in \(c.qqGroupsize) · \(c.permutationOrder.rawValue) · percdamp \(Num.short(c.percdamp))\(c.simplifiedOutliers ? " · simplified" : "")  [a]", .dim))
        }
        return out
    }

    static func figures(_ s: AppState, _ layer: LayerSession) -> [Line] {
        guard let r = layer.result else {
            return [("Figures", .bold), (layer.error.map { "error: \($0)" } ?? "computing…", layer.error == nil ? .dim : .bold)]
        }
        let f = r.figures
        let state = r.isPreview ? "PREVIEW (\(r.rowIndices.count) of \(r.outFeatures) rows)" : "FULL (\(r.outFeatures) rows)"
        let stale = r.config != s.settings ? "  · updating" : ""
        let sourceBits = layer.row.bitsPerWeight
        return [
            ("Figures  \(state)\(stale)", .bold),
            ("avg bits          \(Num.f(f.avgBits))  (reference formula)", .plain),
            ("storage bits/w    \(Num.f(f.storageBitsPerWeight))  (exact)", .plain),
            ("compression       ×\(Num.f(f.compressionRatio(sourceBits: 16), 2)) fp16  ×\(Num.f(sourceBits * Double(f.parameters) / Double(max(f.storage.total, 1)), 2)) \(layer.row.dtype)", .plain),
            ("outliers          \(f.nOutliers) (\(Num.pct(f.outlierFraction)))", .plain),
            ("rel weight error  \(Num.e(f.relWeightError))", .plain),
            ("rel proxy error   \(Num.e(f.relProxyError))", .plain),
            ("top-1% share      \(Num.pct(f.errorShareTop1pct))", .plain),
        ]
    }

    static func baselines(_ layer: LayerSession) -> [Line] {
        var out: [Line] = [("Baselines         weight err  proxy err   top-1%", .bold)]
        if let b = layer.baselines, let r = layer.result, !r.isPreview {
            func row(_ n: String, _ w: Double, _ p: Double, _ t: Double) -> Line {
                (n.padding(toLength: 18, withPad: " ", startingAt: 0) + Num.e(w) + "  " + Num.e(p) + "  " + Num.pct(t), .plain)
            }
            out.append(row("round-to-nearest", b.rtn.relWeightError, b.rtn.relProxyError, b.rtn.errorShareTop1pct))
            out.append(row("GPTQ (no outl.)", b.gptq.relWeightError, b.gptq.relProxyError, b.gptq.errorShareTop1pct))
            out.append(row("SpQR", r.figures.relWeightError, r.figures.relProxyError, r.figures.errorShareTop1pct))
        } else {
            out.append(("computed after the full layer…", .dim))
        }
        return out
    }

    static func inspector(_ s: AppState, _ layer: LayerSession, _ g: HeatmapGeometry) -> [Line] {
        guard let maps = layer.maps, let result = layer.result, !result.isPreview || layer.maps != nil else { return [] }
        let (rr, cr) = g.region(cellX: s.viewport.cursorX, cellY: s.viewport.cursorY)
        let count = rr.count * cr.count
        var outliers = 0, maxS: Float = -1, best = (rr.lowerBound, cr.lowerBound)
        var sumW: Double = 0, sumE: Double = 0
        for r in rr { for c in cr {
            let k = r * maps.cols + c
            outliers += Int(maps.mask[k])
            sumW += Double(abs(maps.weights[k]))
            sumE += Double(maps.error[k])
            if maps.sensitivity[k] > maxS { maxS = maps.sensitivity[k]; best = (r, c) }
        } }
        var out: [Line] = [("Inspector  rows \(rr.lowerBound)–\(rr.upperBound - 1)  cols \(cr.lowerBound)–\(cr.upperBound - 1)  (\(count) w)", .bold)]
        out.append(("mean |w| \(Num.short(sumW / Double(count)))  outliers \(outliers)  error share \(Num.pct(sumE / max(maps.totalError, 1e-300)))", .plain))
        let (r, c) = best
        let k = r * maps.cols + c
        let perm = Permutation.inverse(result.permutation)
        let stats = result.statistics
        let quant = result.rowIndices.count == maps.rows
            ? stats.quantizer(row: r, permutedColumn: perm[c], maxq: Float((1 << result.config.wbits) - 1)) : nil
        out.append(("w[\(r),\(c)] \(Num.short(Double(maps.weights[k])))  q \(Num.short(Double(maps.quantized[k])))  e² \(Num.short(Double(maps.sensitivity[k])))\(maps.mask[k] != 0 ? "  OUTLIER" : "")",
                    maps.mask[k] != 0 ? .bold : .plain))
        if let q = quant {
            out.append(("group \(perm[c] / stats.groupsize)  scale \(Num.short(Double(q.scale)))  zero \(Num.short(Double(q.zero)))", .dim))
        }
        return out
    }

    static func top(_ maps: HeatmapMaps) -> [Line] {
        let total = max(maps.totalError, 1e-300)
        let rows = maps.rowError.indices.sorted { maps.rowError[$0] > maps.rowError[$1] }.prefix(3)
        let cols = maps.colError.indices.sorted { maps.colError[$0] > maps.colError[$1] }.prefix(3)
        return [
            ("Most error", .bold),
            ("rows  " + rows.map { "\($0): \(Num.pct(maps.rowError[$0] / total)) (\(maps.rowOutliers[$0]) outl.)" }.joined(separator: "  "), .plain),
            ("cols  " + cols.map { "\($0): \(Num.pct(maps.colError[$0] / total)) (\(maps.colOutliers[$0]) outl.)" }.joined(separator: "  "), .plain),
        ]
    }
}
