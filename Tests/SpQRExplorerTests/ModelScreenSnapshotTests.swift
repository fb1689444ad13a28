// The model screen on constructed fronts, compared with recorded snapshots at 80×24 and 200×60: the grid
// of blocks × layer types coloured by average bits, the legend with its range, the budget slider, the
// allocation's totals against the session defaults on every layer, and the layer under the cursor; and
// the measurement's progress on the status line before the fronts are known.

import SpQRTestSupport
import Testing

@testable import SpQRCore
@testable import SpQRExplorer

@Suite("View snapshots: model screen")
struct ModelScreenSnapshotTests {
    @Test("the allocation on the grid", arguments: SnapshotTests.sizes)
    func allocated(width: Int, height: Int) throws {
        let s = try ModelScreenFixtures.measuredState(width: width, height: height)
        let frame = Renderer.render(s)
        let text = lines(frame)
        let a = try #require(s.modelScreen.allocation)
        // Every cell shows its layer's allocated average bits.
        let row0 = try #require(text.first { $0.hasPrefix(" 0   ") })
        for name in ModelGrid(s.rows).cells[0].compactMap({ $0 }) {
            let bits = a.choices.first { $0.layer == name }!.point.avgBits
            #expect(row0.contains(String(format: "%.2f", bits)), "\(name) \(bits) in \(row0)")
        }
        #expect(text.contains { $0.contains("target ≤ 3.90 avg bits") })
        #expect(text.contains { $0.contains("allocated \(Num.f(a.avgBits, 3)) bits") })
        assertSnapshot(frame.text, named: "model-\(width)x\(height).txt")
        if width == 200 { assertSnapshot(colourLayer(frame), named: "model-\(width)x\(height).colour.txt") }
    }

    @Test(
        "the measurement's progress on the status line, n/a where no layer is measured", arguments: SnapshotTests.sizes)
    func measuring(width: Int, height: Int) {
        var s = ExplorerFixtures.state(width: width, height: height)
        _ = Reducer.reduce(&s, .terminal(.key(.char("M"))))
        _ = Reducer.reduce(
            &s,
            .model(
                .progress(
                    id: 1,
                    FrontsStatus(
                        layer: "model.layers.0.self_attn.q_proj.weight", layersDone: 3, layers: 6, cachedLayers: 2,
                        fraction: 0.55))))
        let text = lines(Renderer.render(s))
        #expect(text[height - 2].hasPrefix("measuring the model: 3/6 layers, 2 from the cache"))
        #expect(text.contains { $0.contains(" n/a") })
        assertSnapshot(Renderer.render(s).text, named: "model-measuring-\(width)x\(height).txt")
        // In the layer list the progress stays on the status line until a message takes its place.
        _ = Reducer.reduce(&s, .terminal(.key(.escape)))
        #expect(lines(Renderer.render(s))[height - 2].hasPrefix("measuring the model: 3/6 layers"))
        Reducer.setMessage(&s, "recipe written to r.json", error: false)
        #expect(lines(Renderer.render(s))[height - 2].hasPrefix("recipe written to r.json"))
    }

    @Test("the help lists the model screen's keys")
    func help() throws {
        var s = try ModelScreenFixtures.measuredState(width: 200, height: 60)
        _ = Reducer.reduce(&s, .terminal(.key(.char("?"))))
        let text = Renderer.render(s).text
        #expect(text.contains("Keys (model screen)"))
        for b in KeyBindings.active(.model) { #expect(text.contains(b.help), "\(b.help)") }
    }
}
