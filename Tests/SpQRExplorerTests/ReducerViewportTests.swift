// The reducer's heatmap viewport: modes, cursor, zoom, panning and the mouse.

import Testing

@testable import SpQRCore
@testable import SpQRExplorer

@Suite("Reducer: heatmap viewport")
struct ReducerViewportTests {
    func layer() throws -> AppState { try ExplorerFixtures.layerState(width: 120, height: 40) }

    @Test("1–5 choose the heatmap mode")
    func modes() throws {
        var s = try layer()
        for m in HeatmapMode.allCases {
            key(&s, .char(Character("\(m.rawValue)")))
            #expect(s.mode == m)
        }
    }

    @Test("arrows and hjkl move the cursor")
    func cursor() throws {
        var s = try layer()
        key(&s, .right)
        key(&s, .char("j"))
        #expect(s.viewport.cursorX == 1 && s.viewport.cursorY == 1)
    }

    @Test("no panning past the edge at zoom 1")
    func edge() throws {
        var s = try layer()
        key(&s, .right)
        key(&s, .left)
        key(&s, .left)
        #expect(s.viewport.cursorX == 0 && s.viewport.col0 == 0, "no panning past the edge at zoom 1")
    }

    @Test("+ and - zoom in and out by two")
    func zoom() throws {
        var s = try layer()
        key(&s, .char("+"))
        #expect(s.viewport.zoom == 2)
        key(&s, .char("+"))
        key(&s, .char("-"))
        #expect(s.viewport.zoom == 2)
        let g = try #require(Reducer.geometry(s))
        #expect(g.visibleRows == 24 && g.visibleCols == 48)
    }

    @Test("moving past the right edge pans to the matrix's right edge and no further")
    func pan() throws {
        var s = try layer()
        key(&s, .char("+"))
        for _ in 0..<200 { key(&s, .right) }
        #expect(s.viewport.col0 == 96 - 48, "panned to the right edge")
    }

    @Test("0 shows the whole matrix again")
    func zoomReset() throws {
        var s = try layer()
        key(&s, .char("+"))
        for _ in 0..<200 { key(&s, .right) }
        key(&s, .char("0"))
        #expect(s.viewport.zoom == 1 && s.viewport.col0 == 0)
    }

    @Test("a click on the heatmap places the cursor there")
    func click() throws {
        var s = try layer()
        _ = Reducer.reduce(&s, .terminal(.mouse(.click(x: 5, y: 4))))
        let a = Layout(width: 120, height: 40).heatmap
        #expect(s.viewport.cursorX == 5 - a.x && s.viewport.cursorY == 4 - a.y)
    }

    @Test("the wheel zooms in at the pointer")
    func wheel() throws {
        var s = try layer()
        _ = Reducer.reduce(&s, .terminal(.mouse(.wheelUp(x: 5, y: 4))))
        let a = Layout(width: 120, height: 40).heatmap
        #expect(s.viewport.zoom == 2)
        #expect(s.viewport.cursorX == 5 - a.x && s.viewport.cursorY == 4 - a.y)
    }
}

@Suite("Reducer: effect results")
struct ReducerResultTests {
    /// A layer re-run at wbits 4, and the result it showed before.
    func rerun() throws -> (AppState, SpQRResult) {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        let result = try #require(s.layer?.result)
        key(&s, .char("W"))
        return (s, result)
    }

    func preview(_ s: inout AppState, _ result: SpQRResult, generation: Int) {
        _ = Reducer.reduce(
            &s,
            .result(
                generation: generation, layer: qProj, result: result,
                report: LayerReport(layer: qProj, result: result, baselines: nil), maps: nil))
    }

    @Test("a result of an older generation changes nothing")
    func staleResult() throws {
        var (s, result) = try rerun()
        #expect(s.layer?.result?.config.wbits == 3)
        preview(&s, result, generation: s.generation - 1)
        #expect(s.layer?.mapsStale == false, "a stale result changes nothing")
    }

    @Test("progress of the current generation shows")
    func progress() throws {
        var (s, _) = try rerun()
        _ = Reducer.reduce(&s, .progress(generation: s.generation, phase: "full layer", fraction: 0.5))
        #expect(s.layer?.progress?.fraction == 0.5)
    }

    @Test("a preview keeps the previous map, marked as such")
    func previewKeepsMap() throws {
        var (s, result) = try rerun()
        preview(&s, result, generation: s.generation)
        #expect(s.layer?.mapsStale == true, "a preview keeps the previous map, marked")
    }

    @Test("a failure shows as an error and ends the progress")
    func failure() throws {
        var (s, _) = try rerun()
        _ = Reducer.reduce(&s, .failed(generation: s.generation, layer: qProj, message: "boom"))
        #expect(s.layer?.error == "boom" && s.messageIsError && s.layer?.progress == nil)
    }

    @Test("statistics fill the rows they belong to")
    func statistics() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        _ = Reducer.reduce(&s, .statistics([qProj: TensorStatistics([1, -1])]))
        #expect(s.rows.first { $0.name == qProj }?.statistics?.std == 1)
    }

    @Test("statistics that cannot be read say why on the status line")
    func statisticsFailure() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        let message = "model.safetensors: the file is 100 bytes shorter than when it was opened"
        _ = Reducer.reduce(&s, .statistics([:], failures: [qProj: message]))
        #expect(s.message == message && s.messageIsError)
        #expect(s.rows.first { $0.name == qProj }?.statistics == nil)
    }
}
