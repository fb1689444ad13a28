// The layer browser: every tensor with block, shape, dtype, size, once measured the figures at the settings
// it was measured with (before the statistics, so a narrow terminal keeps them), and quick statistics; a `*` in the first column marks a layer with an override.

import Foundation
import SpQRCore

enum BrowserView {
    static func render(_ m: BrowserModel, _ r: Rect, _ b: inout CellBuffer) {
        let rows = m.rows
        let columns: [(String, Int)] = [
            ("block", 7), ("layer", max(16, r.width - 92)), ("shape", 12), ("dtype", 6), ("size", 9),
            ("bits", 7), ("proxy err", 11), ("std", 9), ("max|w|", 9), ("kurt", 8),
        ]
        var x = r.x + 1
        for (name, w) in columns {
            b.write(name, x: x, y: r.y, style: .bold, clip: Rect(x: x, y: r.y, width: w, height: 1))
            x += w + 1
        }
        let list = ListGeometry(area: r)
        let scroll = list.scroll(selection: m.selection, current: m.scroll)
        if rows.isEmpty {
            b.write(
                m.filter.isEmpty
                    ? "No tensors in this checkpoint."
                    : "No layer matches \"\(m.filter)\" (Esc in the filter clears it).",
                x: r.x + 1, y: r.y + 2, style: .dim, clip: r)
        }
        for (i, row) in rows.enumerated().dropFirst(scroll).prefix(list.listHeight) {
            let y = r.y + 1 + i - scroll
            let selected = i == m.selection
            let base: Style = selected ? .reverse : (row.quantizable ? .plain : .dim)
            if selected { b.fill(Rect(x: r.x, y: y, width: r.width, height: 1), " ", .reverse) }
            if m.overridden.contains(row.name) { b.write("*", x: r.x, y: y, style: base, clip: r) }
            let cells = self.cells(row, m.measured[row.name])
            var cx = r.x + 1
            for (k, (_, w)) in columns.enumerated() {
                b.write(cells[k], x: cx, y: y, style: base, clip: Rect(x: cx, y: y, width: w, height: 1))
                cx += w + 1
            }
        }
        b.write(status(m), x: r.x + 1, y: list.statusY, style: .dim, clip: r)
    }

    /// The list's status row: the position in the list, the sort order and the filters in force.
    static func status(_ m: BrowserModel) -> String {
        var parts = [
            m.rows.isEmpty ? "0 layers" : "\(m.selection + 1)/\(m.rows.count)", "sorted by \(m.sort.rawValue)",
        ]
        if !m.filter.isEmpty { parts.append("filter \"\(m.filter)\"") }
        if m.quantizableOnly { parts.append("quantizable only") }
        return parts.joined(separator: "  ·  ")
    }

    /// A not-quantizable row's reason within the proxy-error column: the dimensionality, an empty tensor,
    /// or the dtype that cannot be read as float (Enter shows the full reason).
    static func shortReason(_ row: LayerRow) -> String {
        if row.shape.count != 2 { return "\(row.shape.count)-D tensor" }
        if row.shape.contains(0) { return "empty" }
        return "\(row.dtype) dtype"
    }

    /// The texts of one row, column by column.
    static func cells(_ row: LayerRow, _ measured: BrowserModel.Measured?) -> [String] {
        var cells: [String] = []
        let blockName = row.block.map { String($0.split(separator: ".").last ?? "") } ?? "-"
        let short =
            row.block.map { row.name.hasPrefix($0 + ".") ? String(row.name.dropFirst($0.count + 1)) : row.name }
            ?? row.name
        cells.append(blockName)
        cells.append(short)
        cells.append(row.shape.map(String.init).joined(separator: "×"))
        cells.append(row.dtype)
        cells.append(Num.bytes(row.bytes))
        if let rep = measured {
            cells += [Num.f(rep.avgBits, 3), Num.e(rep.relProxyError)]
        } else {
            cells += [row.quantizable ? "" : "—", row.quantizable ? "" : shortReason(row)]
        }
        if let st = row.statistics {
            // "~": figures from a sample of a very large tensor.
            cells += [Num.short(st.std), Num.short(st.maxAbs), String(format: "%.2f", st.kurtosis)].map {
                st.sampledElements == nil ? $0 : "~" + $0
            }
        } else {
            cells += [row.quantizable ? "·" : "", "", ""]
        }
        return cells
    }
}
