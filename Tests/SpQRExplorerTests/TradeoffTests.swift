// The trade-off view (key `f`): the reducer asks for the grid's missing points, fills them in from the
// measurement's events (dropping an older measurement's), moves between them, and applies one through the
// settings path the sliders use; the view is compared with recorded snapshots at 80×24 and 200×60, with
// points measured for real on the fixture layer.

import SpQRTestSupport
import Testing

@testable import SpQRCore
@testable import SpQRExplorer

enum TradeoffFixture {
    /// The fixture's q_proj (H = I) at every candidate of the grid around the default settings.
    static let points: [Int: TradeoffPoint] = {
        let w = try! ExplorerFixtures.checkpoint.matrix(qProj)
        let m = LayerMeasurement(name: qProj, weights: w, hessian: Hessian.identity(w.cols))
        var out: [Int: TradeoffPoint] = [:]
        try! TradeoffGrid.measure(try! TradeoffGrid.candidates(around: SpQRConfig()), on: m) { out[$0] = $1 }
        return out
    }()

    /// The layer state with the trade-off open and the points of `indices` (all by default) reported.
    static func state(width: Int, height: Int, indices: [Int]? = nil) throws -> AppState {
        var s = try ExplorerFixtures.layerState(width: width, height: height)
        _ = key(&s, .char("f"))
        for i in indices ?? points.keys.sorted() {
            _ = Reducer.reduce(&s, .tradeoff(.point(id: s.tradeoffID, index: i, points[i]!)))
        }
        if indices == nil { _ = Reducer.reduce(&s, .tradeoff(.finished(id: s.tradeoffID))) }
        return s
    }
}

@Suite("Trade-off view")
struct TradeoffTests {
    @Test("f opens the view and asks for every point of the grid around the layer's settings")
    func open() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        let effects = key(&s, .char("f"))
        let candidates = try TradeoffGrid.candidates(around: s.settings)
        #expect(
            effects == [
                .measureTradeoff(
                    id: s.tradeoffID, layer: qProj, candidates: candidates, indices: Array(candidates.indices))
            ])
        #expect(s.tradeoffOpen && s.tradeoff?.running == true)
        #expect(lines(Renderer.render(s)).contains { $0.contains("measuring the first point") })
    }

    @Test("points fill in; an older measurement's are dropped; closing stops it and reopening resumes")
    func resume() throws {
        var s = try TradeoffFixture.state(width: 120, height: 40, indices: [0, 1, 2])
        let first = s.tradeoffID
        #expect(s.tradeoff?.points.count == 3)
        #expect(key(&s, .char("f")) == [.cancelTradeoff])
        #expect(!s.tradeoffOpen && s.tradeoff?.running == false)
        _ = Reducer.reduce(&s, .tradeoff(.point(id: first, index: 3, TradeoffFixture.points[3]!)))
        #expect(s.tradeoff?.points.count == 3, "a stopped measurement's late point is dropped")
        let effects = key(&s, .char("f"))
        guard case .measureTradeoff(let id, _, _, let indices) = effects.first else {
            Issue.record("no measurement: \(effects)")
            return
        }
        #expect(id > first && indices == Array(3..<72))
        _ = Reducer.reduce(&s, .tradeoff(.finished(id: first)))
        #expect(s.tradeoff?.running == true, "the older measurement's end does not stop the newer one")
        // Stopped from outside (a quantization took the work queue): the view says so and waits for nothing.
        _ = Reducer.reduce(&s, .tradeoff(.finished(id: id)))
        #expect(s.tradeoff?.running == false)
        #expect(lines(Renderer.render(s)).contains { $0.contains("3/72 points") && $0.contains("stopped") })
    }

    @Test("the cursor starts on the layer's own settings, moves by bits and along the Pareto front")
    func moves() throws {
        var s = try TradeoffFixture.state(width: 120, height: 40)
        let t = try #require(s.tradeoff)
        let start = try #require(t.selection)
        #expect(t.points[start]!.candidate.config == s.settings && t.points[start]!.candidate.method == .spqr)
        _ = key(&s, .home)
        #expect(s.tradeoff?.selection == t.byBits.first)
        _ = key(&s, .right)
        #expect(s.tradeoff?.selection == t.byBits[1])
        _ = key(&s, .end)
        #expect(s.tradeoff?.selection == t.byBits.last)
        // From the fewest bits (on the front: nothing has fewer bits), ↑ walks the whole front in order.
        _ = key(&s, .home)
        var walked: [Int] = [s.tradeoff!.selection!]
        for _ in 0..<t.front.count {
            _ = key(&s, .up)
            if s.tradeoff!.selection! != walked.last { walked.append(s.tradeoff!.selection!) }
        }
        #expect(walked == t.front)
        let errors = walked.map { t.points[$0]!.relProxyError }
        #expect(zip(errors, errors.dropFirst()).allSatisfy { $0 > $1 }, "the front trades bits for error")
        _ = key(&s, .down)
        #expect(s.tradeoff?.selection == t.front[t.front.count - 2])
    }

    @Test("Enter applies a point as the sliders would: an override, a new run, the view closed")
    func apply() throws {
        var s = try TradeoffFixture.state(width: 120, height: 40)
        let t = try #require(s.tradeoff)
        let target = try #require(
            t.points.keys.sorted().first {
                t.points[$0]!.candidate.method == .gptq && t.points[$0]!.candidate.config.wbits == 4
                    && t.points[$0]!.candidate.config.groupsize == 32
            })
        s.tradeoff?.selection = target
        let effects = key(&s, .enter)
        #expect(!s.tradeoffOpen)
        #expect(
            s.overrides[qProj] == [
                "wbits": .integer(4), "groupsize": .integer(32), "outlier_threshold": .number(.infinity),
            ])
        #expect(s.thresholdBeforeOff == SpQRConfig().outlierThreshold)
        // The measurement had finished: nothing to stop, one new run.
        #expect(effects == [.quantize(generation: s.generation, layer: qProj, config: s.settings)])
        #expect(s.message?.hasPrefix("applied the GPTQ point") == true, "\(s.message ?? "")")
        // The recipe export takes the override as any other.
        #expect(lines(Renderer.render(s)).contains { $0.contains("wbits             4*") })
    }

    @Test("Enter on a round-to-nearest point says it is a baseline and changes nothing")
    func rtnIsABaseline() throws {
        var s = try TradeoffFixture.state(width: 120, height: 40)
        let points = s.tradeoff!.points
        s.tradeoff?.selection = points.keys.first { points[$0]!.candidate.method == .rtn }
        #expect(key(&s, .enter).isEmpty)
        #expect(s.tradeoffOpen && s.overrides.isEmpty && s.message?.contains("baseline") == true)
    }

    @Test("the view, every point measured", arguments: SnapshotTests.sizes)
    func snapshot(width: Int, height: Int) throws {
        var s = try TradeoffFixture.state(width: width, height: height)
        var frame = lines(Renderer.render(s))
        #expect(frame.contains { $0.contains("72/72 points") })
        #expect(frame.contains { $0.contains("▸ SpQR  4.840 bits  proxy err") })
        #expect(frame.contains { $0.contains("wbits 3 · groupsize 16 · outlier_threshold 0.2") })
        // Away from the layer's own point, the plot shows the current-setting marker (besides the legend's).
        _ = key(&s, .home)
        frame = lines(Renderer.render(s))
        #expect(frame.map { $0.filter { $0 == "◆" }.count }.reduce(0, +) == 2, "the current setting is marked")
        assertSnapshot(Renderer.render(s).text, named: "tradeoff-\(width)x\(height).txt")
        assertSnapshot(colourLayer(Renderer.render(s)), named: "tradeoff-\(width)x\(height).colour.txt")
    }
}
