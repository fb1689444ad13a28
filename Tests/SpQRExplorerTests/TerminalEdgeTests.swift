// Terminal sizes from 1×1 up, and a storm of resizes, clicks and keys.

import SpQRTestSupport
import Testing

@testable import SpQRCore
@testable import SpQRExplorer

@Suite("Terminal edge cases")
struct TerminalEdgeTests {
    /// Calls `body` with the layer screen and the layer list, each with and without the help.
    func forEachScreen(width: Int, height: Int, _ body: (AppState) -> Void) throws {
        var s = try ExplorerFixtures.layerState(width: width, height: height)
        for onLayer in [true, false] {
            s.onLayer = onLayer
            for help in [false, true] {
                s.showHelp = help
                body(s)
            }
        }
    }

    @Test(
        "below the minimum size, every screen says the terminal is too small (as much as fits)",
        arguments: [(1, 1), (2, 1), (20, 10), (71, 19), (71, 40), (120, 19)])
    func tooSmall(width: Int, height: Int) throws {
        try forEachScreen(width: width, height: height) { s in
            let first = lines(Renderer.render(s))[0]
            #expect(
                first
                    == TooSmallView.lines(width: width, height: height)[0].padding(
                        toLength: width, withPad: " ", startingAt: 0))
            #expect(first.contains("\(width)x\(height)") || width < 3 + "\(width)x\(height)".count)
        }
    }

    @Test(
        "at and above the minimum size, every screen has its title, and the help its box",
        arguments: [(72, 20), (73, 21), (300, 100)])
    func large(width: Int, height: Int) throws {
        try forEachScreen(width: width, height: height) { s in
            let text = lines(Renderer.render(s))
            #expect(text[0].hasPrefix(" SpQR Explorer "))
            #expect(text.contains { $0.contains("Keys (\(s.onLayer ? "layer view" : "layer list"))") } == s.showHelp)
        }
    }

    @Test("a storm of resizes, clicks and keys keeps the viewport and the cursor inside the matrix and the map")
    func resizeStorm() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        var g = SeededGenerator(seed: 42)
        let keys: [Key] = [
            .up, .down, .left, .right, .char("+"), .char("-"), .char("0"), .char("3"), .pageDown, .pageUp, .home, .end,
        ]
        for _ in 0..<600 {
            switch g.next() % 3 {
            case 0: _ = Reducer.reduce(&s, .terminal(.resize(width: Int(g.next() % 250), height: Int(g.next() % 80))))
            case 1: _ = Reducer.reduce(&s, .terminal(.mouse(.click(x: Int(g.next() % 250), y: Int(g.next() % 80)))))
            default: _ = Reducer.reduce(&s, .terminal(.key(keys[Int(g.next() % UInt64(keys.count))])))
            }
            let b = Renderer.render(s)
            let layout = Layout(width: s.width, height: s.height)
            if let geo = Reducer.geometry(s), !layout.tooSmall {
                #expect(s.viewport.row0 >= 0 && s.viewport.row0 + geo.visibleRows <= geo.rows)
                #expect(s.viewport.col0 >= 0 && s.viewport.col0 + geo.visibleCols <= geo.cols)
                // The cursor is drawn on the map, where the viewport says it is.
                #expect(b[layout.heatmap.x + s.viewport.cursorX, layout.heatmap.y + s.viewport.cursorY].glyph == "▣")
            }
        }
    }
}
