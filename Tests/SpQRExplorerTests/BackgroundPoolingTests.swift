// Views pooled in the background (the explorer's maps): the first frame that needs a view draws without it
// and asks for it; once pooled, the frame equals the one drawn with the view pooled at once.

import Foundation
import Testing

@testable import SpQRCore
@testable import SpQRExplorer

@Suite("Background pooling")
struct BackgroundPoolingTests {
    @Test("a frame draws 'Pooling the view…' until the view is ready, then the same heatmap as at once")
    func pooledLater() throws {
        let s = try ExplorerFixtures.layerState(width: 120, height: 36)
        let expected = Renderer.render(s)
        var later = s
        let w = try ExplorerFixtures.checkpoint.matrix(qProj)
        let r = try #require(s.layer?.result)
        later.layer?.maps = HeatmapMaps(result: r, weights: w, poolInBackground: true)
        let before = PooledViewCache.completed
        let first = Renderer.render(later)
        #expect(first.text.contains("Pooling the view…"))
        let deadline = Date().addingTimeInterval(10)
        while PooledViewCache.completed == before && Date() < deadline { usleep(1_000) }
        // Every view the frame needs is ready once the requests it made are done.
        var frame = Renderer.render(later)
        while frame.text.contains("Pooling the view…") && Date() < deadline {
            usleep(1_000)
            frame = Renderer.render(later)
        }
        #expect(frame == expected)
    }
}
