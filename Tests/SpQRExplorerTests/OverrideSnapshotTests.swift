// Overrides on screen, compared with recorded snapshots: the layer list marks an overridden layer with
// `*` in its first column, and the settings panel marks the overridden value and shows the default.

import SpQRTestSupport
import Testing

@testable import SpQRCore
@testable import SpQRExplorer

@Suite("View snapshots: overrides")
struct OverrideSnapshotTests {
    static let kProj0 = "model.layers.0.self_attn.k_proj.weight"

    @Test("the layer list marks a layer with an override", arguments: SnapshotTests.sizes)
    func browser(width: Int, height: Int) {
        var s = ExplorerFixtures.state(width: width, height: height)
        s.overrides[Self.kProj0] = ["wbits": .integer(4)]
        let text = Renderer.render(s).text
        let marked = lines(Renderer.render(s)).filter { $0.hasPrefix("*") }
        #expect(marked.count == 1 && marked[0].contains("self_attn.k_proj"), "\(marked)")
        assertSnapshot(text, named: "browser-override-\(width)x\(height).txt")
    }

    @Test("the panel marks the overridden value and shows the default", arguments: SnapshotTests.sizes)
    func panel(width: Int, height: Int) throws {
        // Measured at wbits 3; the defaults then move to 4, so wbits 3 becomes this layer's override and
        // the figures on screen stay those of its settings.
        var s = try ExplorerFixtures.layerState(width: width, height: height)
        s.defaults.wbits = 4
        s.overrides[qProj] = ["wbits": .integer(3)]
        let frame = lines(Renderer.render(s))
        #expect(frame.contains { $0.contains("wbits             3*") })
        #expect(frame.contains { $0.contains("  * default: wbits 4") })
        #expect(!frame.contains { $0.contains("updating") })
        assertSnapshot(Renderer.render(s).text, named: "layer-override-\(width)x\(height).txt")
    }
}
