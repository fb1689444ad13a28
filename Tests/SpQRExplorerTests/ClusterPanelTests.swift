// The clusters panel and the column order: C, ↑/↓, Enter and v in the reducer, the panel's snapshots,
// and the bars on the bundled sample — o_proj's panel names its column clusters and q_proj's heatmap
// shows its heads at 1× zoom.

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore
@testable import SpQRExplorer

@Suite("Clusters panel")
struct ClusterPanelTests {
    static func key(_ s: inout AppState, _ k: Key) -> [Effect] { Reducer.reduce(&s, .terminal(.key(k))) }

    @Test("C opens and closes the panel; ↑/↓ choose an entry there and move the cursor again once it is closed")
    func panelKeys() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 36, searched: false)
        let n = s.clusters.count
        try #require(n > 2, "the fixture layer has clusters above uniform")
        _ = Self.key(&s, .char("C"))
        #expect(s.clusterState.shown && s.clusterState.selection == 0)
        let cursor = s.viewport
        _ = Self.key(&s, .down)
        _ = Self.key(&s, .down)
        #expect(s.clusterState.selection == 2 && s.viewport == cursor, "the panel takes ↑/↓")
        _ = Self.key(&s, .up)
        _ = Self.key(&s, .up)
        _ = Self.key(&s, .up)
        #expect(s.clusterState.selection == 0)
        _ = Self.key(&s, .end)
        #expect(s.clusterState.selection == n - 1)
        let frame = lines(Renderer.render(s))
        #expect(frame.contains { $0.contains("Clusters") } && !frame.contains { $0.contains("Settings") })
        _ = Self.key(&s, .char("C"))
        #expect(!s.clusterState.shown)
        _ = Self.key(&s, .down)
        #expect(s.viewport.cursorY == cursor.cursorY + 1)
    }

    @Test("Enter zooms to the chosen cluster and puts the cursor on it")
    func zoomToCluster() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 36, searched: false)
        _ = Self.key(&s, .char("C"))
        for (i, c) in s.clusters.enumerated() where c.kind == .row || c.kind == .column {
            s.clusterState.selection = i
            s.viewport = Viewport()
            s.clusterState.processingOrder = false
            _ = Self.key(&s, .enter)
            let g = try #require(Reducer.geometry(s))
            let region = g.region(cellX: s.viewport.cursorX, cellY: s.viewport.cursorY)
            #expect(s.viewport.zoom > 1, "\(ClusterPanelView.name(c))")
            if c.kind == .row {
                #expect(region.rows.contains(c.rows.lowerBound), "\(ClusterPanelView.name(c)): \(region)")
            } else {
                #expect(region.cols.contains(c.columns.lowerBound), "\(ClusterPanelView.name(c)): \(region)")
            }
            #expect(s.message == "zoomed to \(ClusterPanelView.name(c))")
        }
    }

    @Test("v shows the columns in processing order; a group's Enter switches to it")
    func processingOrder() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 36, searched: false)
        let maps = try #require(s.layer?.maps)
        _ = Self.key(&s, .char("v"))
        // H = I: act_order keeps the file's order (ties by index), so the maps are the same.
        #expect(s.clusterState.processingOrder && s.message?.hasSuffix("(act_order): the same as the file's") == true)
        #expect(lines(Renderer.render(s))[1].contains("cols 0–95"))
        _ = Self.key(&s, .char("v"))
        #expect(!s.clusterState.processingOrder && s.message == "columns in the file's order")
        // Permuted maps: position k shows column columnOrder[k].
        let reversed = HeatmapMaps(
            rows: 2, cols: 3, weights: [1, 2, 3, 4, 5, 6], quantized: [1, 2, 3, 4, 5, 6], mask: [0, 0, 1, 0, 0, 0],
            sensitivity: [1, 2, 3, 4, 5, 6], error: [1, 2, 3, 4, 5, 6], columnOrder: [2, 0, 1])
        let p = reversed.inProcessingOrder()
        #expect(p.weights == [3, 1, 2, 6, 4, 5] && p.mask == [1, 0, 0, 0, 0, 0] && p.fileColumn(0) == 2)
        #expect(p.colOutliers == [1, 0, 0] && maps.inProcessingOrder().isSame(maps), "identity order: the same maps")
        _ = Self.key(&s, .char("C"))
        if let g = s.clusters.firstIndex(where: { $0.kind == .group }) {
            s.clusterState.selection = g
            _ = Self.key(&s, .enter)
            #expect(s.clusterState.processingOrder)
        }
    }

    @Test("snapshot of the panel on the fixture layer (no head count in its files)")
    func snapshot() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 36, searched: false)
        _ = Self.key(&s, .char("C"))
        _ = Self.key(&s, .down)
        assertSnapshot(Renderer.render(s).text, named: "clusters-panel-120x36.txt")
    }

    @Test("the sample's o_proj: the panel names its column clusters (and its heads by columns)")
    func sampleOProj() throws {
        var s = try HeatmapContrastTests.sampleState(
            HeatmapContrastTests.smol.0, HeatmapContrastTests.smol.1, "self_attn.o_proj")
        #expect(s.clusterState.heads == AttentionHeads(heads: 9, kvHeads: 3, headDim: 64))
        let top = s.clusters.prefix(10)
        #expect(top.filter { $0.kind == .column }.count >= 3, "\(top.map(ClusterPanelView.name))")
        #expect(s.clusters.contains { $0.kind == .head && $0.rows.count == 576 && $0.columns.count == 64 })
        s.mode = .outliers
        _ = Self.key(&s, .char("C"))
        let b = Renderer.render(s)
        assertSnapshot(b.text, named: "clusters-sample-o_proj-160x50.txt")
    }

    @Test("the sample's q_proj at 1× zoom: rows of heads show in the heatmap, and the panel ranks heads")
    func sampleQProj() throws {
        var s = try HeatmapContrastTests.sampleState(
            HeatmapContrastTests.smol.0, HeatmapContrastTests.smol.1, "self_attn.q_proj")
        #expect(s.viewport.zoom == 1)
        #expect(s.clusters.contains { $0.kind == .head && $0.rows.count == 64 })
        _ = Self.key(&s, .char("C"))
        let b = Renderer.render(s)
        assertSnapshot(b.text, named: "clusters-sample-q_proj-160x50.txt")
        assertSnapshot(colourLayer(b), named: "clusters-sample-q_proj-160x50.colour.txt")
    }
}
