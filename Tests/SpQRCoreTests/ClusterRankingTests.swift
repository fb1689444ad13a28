// Cluster ranking on constructed layers: a planted row, column, head or group ranks first with the
// concentration ratio its construction gives; uniform layers list nothing; the heads a model's files
// give split q/k/v by rows and o by columns.

import Foundation
import Testing

@testable import SpQRCore

@Suite("Cluster ranking")
struct ClusterRankingTests {
    /// A rows × cols layer with error 1 everywhere except `planted` (error `e`), and outliers where `outlier`.
    static func layer(
        _ rows: Int, _ cols: Int, error e: Float = 1, planted: (Int, Int) -> Bool = { _, _ in false },
        outlier: (Int, Int) -> Bool = { _, _ in false }
    ) -> LayerMarginals {
        var mask = [UInt8](repeating: 0, count: rows * cols)
        var err = [Float](repeating: 1, count: rows * cols)
        for r in 0..<rows {
            for c in 0..<cols {
                if planted(r, c) { err[r * cols + c] = e }
                if outlier(r, c) { mask[r * cols + c] = 1 }
            }
        }
        return LayerMarginals(rows: rows, cols: cols, mask: mask, error: err)
    }

    @Test("marginals are the row and column sums")
    func marginals() {
        let m = Self.layer(3, 4, error: 5, planted: { r, c in r == 1 && c == 2 }, outlier: { r, c in r == c })
        #expect(m.rowError == [4, 8, 4] && m.colError == [3, 3, 7, 3] && m.totalError == 16)
        #expect(m.rowOutliers == [1, 1, 1] && m.colOutliers == [1, 1, 1, 0] && m.totalOutliers == 3)
    }

    @Test("a uniform layer lists nothing: every ratio is 1")
    func uniform() {
        let m = Self.layer(16, 32, outlier: { r, c in (r + c) % 4 == 0 })
        #expect(ClusterRanking.rank(m, heads: HeadLayout(axis: .rows, headDim: 4), groupsize: 8).isEmpty)
    }

    @Test("a planted row ranks first with ratio = its error share × rows")
    func plantedRow() throws {
        let m = Self.layer(32, 64, error: 10, planted: { r, _ in r == 5 })
        let top = try #require(ClusterRanking.rank(m, groupsize: 16).first)
        #expect(top.kind == .row && top.index == 5 && top.rows == 5..<6 && top.columns == 0..<64)
        let share = 640.0 / (2048 - 64 + 640)
        #expect(abs(top.errorShare - share) <= 1e-12 && abs(top.errorRatio - share * 32) <= 1e-12)
        #expect(top.outlierShare == 0 && top.outlierRatio == 0 && abs(top.sizeShare - 1.0 / 32) <= 1e-15)
        #expect(ClusterRanking.rank(m).allSatisfy { $0.kind == .row }, "columns stay at ratio 1")
    }

    @Test("a column of outliers ranks first by its outlier ratio, above a scatter")
    func plantedColumn() throws {
        // Column 7 all outliers; elsewhere one weight in 13.
        let m = Self.layer(40, 50, outlier: { r, c in c == 7 || (r * 50 + c) % 13 == 0 })
        let ranked = ClusterRanking.rank(m)
        let top = try #require(ranked.first)
        #expect(top.kind == .column && top.index == 7)
        let total = Double(m.totalOutliers)
        #expect(abs(top.outlierRatio - 40 / total * 50) <= 1e-12)
        #expect(top.errorRatio == 1 || abs(top.errorRatio - 1) <= 1e-12)
        #expect(ranked.dropFirst().allSatisfy { $0.score < top.score })
    }

    @Test("a planted head of q (rows) or o (columns) ranks before its own rows or columns")
    func plantedHead() throws {
        let rowsHead = Self.layer(32, 24, error: 3, planted: { r, _ in (16..<24).contains(r) })
        let q = try #require(ClusterRanking.rank(rowsHead, heads: HeadLayout(axis: .rows, headDim: 8)).first)
        #expect(q.kind == .head && q.index == 2 && q.rows == 16..<24 && q.columns == 0..<24)
        // Error share 8·24·3 / (32·24 + 8·24·2), size share 8/32.
        let share = 576.0 / 1152
        #expect(abs(q.errorRatio - share * 4) <= 1e-12)
        let colsHead = Self.layer(24, 32, error: 3, planted: { _, c in (8..<16).contains(c) })
        let o = try #require(ClusterRanking.rank(colsHead, heads: HeadLayout(axis: .columns, headDim: 8)).first)
        #expect(o.kind == .head && o.index == 1 && o.columns == 8..<16 && o.rows == 0..<24)
        #expect(abs(o.errorRatio - share * 4) <= 1e-12)
        #expect(
            ClusterRanking.rank(rowsHead, heads: HeadLayout(axis: .rows, headDim: 5)).allSatisfy { $0.kind != .head },
            "a head_dim that does not divide the rows names no heads")
    }

    @Test("groups are groupsize columns in processing order")
    func plantedGroup() throws {
        let perm = Array((0..<64).reversed())
        // The first group processed is original columns 63 … 56.
        let m = Self.layer(16, 64, error: 5, planted: { _, c in c >= 56 })
        let top = try #require(ClusterRanking.rank(m, groupsize: 8, perm: perm).first)
        #expect(top.kind == .group && top.index == 0 && top.columns == 0..<8 && top.columnOrder == .processing)
        let share: Double = 640.0 / (896 + 640)  // 16·8·5 of 16·56 + 16·8·5
        #expect(abs(top.errorRatio - share * 8) <= 1e-12)
        #expect(ClusterRanking.rank(m, groupsize: 8).first?.index == 7, "in the file's order it is the last group")
    }

    @Test("at most perKind clusters of each kind, best first")
    func perKind() {
        let m = Self.layer(20, 20, error: 2, planted: { r, _ in r % 2 == 0 })
        let ranked = ClusterRanking.rank(m, perKind: 3)
        #expect(ranked.count == 3 && ranked.map(\.index) == [0, 2, 4])
    }

    @Test("heads from the sample's GGUF metadata split q/k/v by rows and o by columns")
    func sampleHeads() throws {
        let c = try ModelFiles.openCheckpoint("\(samplesDirectory)/smollm2-135m-instruct.block15.gguf")
        let heads = try #require(AttentionHeads.read(c))
        #expect(heads == AttentionHeads(heads: 9, kvHeads: 3, headDim: 64))
        #expect(heads.layout(layer: "model.layers.15.self_attn.q_proj.weight", shape: [576, 576])?.axis == .rows)
        #expect(heads.layout(layer: "model.layers.15.self_attn.k_proj.weight", shape: [192, 576])?.axis == .rows)
        #expect(heads.layout(layer: "model.layers.15.self_attn.o_proj.weight", shape: [576, 576])?.axis == .columns)
        #expect(heads.layout(layer: "model.layers.15.self_attn.k_proj.weight", shape: [576, 576]) == nil)
        #expect(heads.layout(layer: "model.layers.15.mlp.down_proj.weight", shape: [576, 1536]) == nil)
    }

    @Test("heads from the config.json beside a safetensors file; none without one")
    func configHeads() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("heads-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("model.safetensors").path
        try SafetensorsWriter.write([.f32("w", shape: [2, 2], [1, 2, 3, 4])], to: path)
        let c = try ModelFiles.openCheckpoint(path)
        #expect(AttentionHeads.read(c) == nil)
        try Data(#"{"num_attention_heads": 12, "num_key_value_heads": 4, "hidden_size": 768}"#.utf8).write(
            to: dir.appendingPathComponent("config.json"))
        #expect(AttentionHeads.read(c) == AttentionHeads(heads: 12, kvHeads: 4, headDim: 64))
    }
}
