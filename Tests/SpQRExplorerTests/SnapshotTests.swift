// Views rendered into the cell buffer and compared with recorded snapshots (text, and a colour layer
// where colour carries meaning). Record with SPQR_RECORD_SNAPSHOTS=1; a missing snapshot fails.

import Foundation
import Testing
@testable import SpQRCore
@testable import SpQRExplorer

enum Snapshot {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("__Snapshots__")

    /// The colours of every cell: two hex digits for the foreground and two for the background ("--" = default).
    static func colourLayer(_ b: CellBuffer) -> String {
        func hex(_ c: TermColor) -> String { if case .index(let i) = c { return String(format: "%02x", i) } else { return "--" } }
        return (0..<b.height).map { y in (0..<b.width).map { x in hex(b[x, y].style.fg) + hex(b[x, y].style.bg) }.joined(separator: " ") }
            .joined(separator: "\n")
    }

    static func check(_ text: String, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let url = directory.appendingPathComponent(name)
        if ProcessInfo.processInfo.environment["SPQR_RECORD_SNAPSHOTS"] == "1" {
            try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try? Data((text + "\n").utf8).write(to: url)
            return
        }
        guard let data = FileManager.default.contents(atPath: url.path) else {
            Issue.record("missing snapshot \(name); record it with SPQR_RECORD_SNAPSHOTS=1 swift test", sourceLocation: sourceLocation)
            return
        }
        let expected = String(decoding: data, as: UTF8.self)
        if expected != text + "\n" {
            let a = expected.split(separator: "\n", omittingEmptySubsequences: false), b = (text + "\n").split(separator: "\n", omittingEmptySubsequences: false)
            let line = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
            Issue.record("snapshot \(name) differs from line \(line + 1):\n  expected: \(line < a.count ? String(a[line]) : "<end>")\n  rendered: \(line < b.count ? String(b[line]) : "<end>")",
                         sourceLocation: sourceLocation)
        }
    }
}

@Suite("View snapshots")
struct SnapshotTests {
    static let sizes = [(80, 24), (200, 60)]

    @Test("layer browser", arguments: sizes)
    func browser(width: Int, height: Int) {
        var s = ExplorerFixtures.state(width: width, height: height)
        s.rows[1].statistics = TensorStatistics([0.5, -0.25, 0.125, 1])
        Snapshot.check(Renderer.render(s).text, "browser-\(width)x\(height).txt")
    }

    @Test("layer view: heatmap, marginals, legend, panel", arguments: sizes)
    func layer(width: Int, height: Int) throws {
        let s = try ExplorerFixtures.layerState(width: width, height: height)
        let b = Renderer.render(s)
        Snapshot.check(b.text, "layer-\(width)x\(height).txt")
        Snapshot.check(Snapshot.colourLayer(b), "layer-\(width)x\(height).colour.txt")
    }

    @Test("every heatmap mode", arguments: HeatmapMode.allCases)
    func modes(mode: HeatmapMode) throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 36)
        s.mode = mode
        let b = Renderer.render(s)
        Snapshot.check(b.text, "mode-\(mode.rawValue).txt")
        Snapshot.check(Snapshot.colourLayer(b), "mode-\(mode.rawValue).colour.txt")
    }

    @Test("zoomed in with the advanced panel")
    func zoomedAdvanced() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 36)
        _ = Reducer.reduce(&s, .terminal(.key(.char("+"))))
        _ = Reducer.reduce(&s, .terminal(.key(.char("+"))))
        s.showAdvanced = true
        Snapshot.check(Renderer.render(s).text, "zoomed-advanced.txt")
    }

    @Test("no colour and no UTF-8: density glyphs and ASCII")
    func fallbacks() throws {
        let plain = try ExplorerFixtures.layerState(width: 100, height: 30, capabilities: TerminalCapabilities(colors: 0, unicode: false))
        let b = Renderer.render(plain)
        #expect(b.text.unicodeScalars.allSatisfy { $0.isASCII })
        Snapshot.check(b.text, "layer-nocolour-ascii.txt")
        let eight = try ExplorerFixtures.layerState(width: 100, height: 30, capabilities: TerminalCapabilities(colors: 8, unicode: true))
        let c = Renderer.render(eight)
        #expect(c.cells.allSatisfy { cell in
            [cell.style.fg, cell.style.bg].allSatisfy { if case .index(let i) = $0 { return i < 8 } else { return true } }
        })
        Snapshot.check(Snapshot.colourLayer(c), "layer-8colours.colour.txt")
    }

    @Test("help overlay, prompt and a terminal too small")
    func overlays() throws {
        var s = try ExplorerFixtures.layerState(width: 100, height: 30)
        s.showHelp = true
        Snapshot.check(Renderer.render(s).text, "help.txt")
        s.showHelp = false
        s.prompt = Prompt(kind: .exportPath, text: "spqr-recipe.json")
        #expect(Renderer.render(s).text.contains("export recipe to (Enter to write, Esc to cancel): spqr-recipe.json"))
        s.width = 40
        s.height = 10
        Snapshot.check(Renderer.render(s).text, "too-small.txt")
    }

    @Test("a data-free session is flagged in the title")
    func dataFree() {
        let s = ExplorerFixtures.state(width: 100, height: 30)
        let title = Renderer.render(s).text.split(separator: "\n")[0]
        #expect(title.contains("DATA-FREE: H = I"))
    }
}

@Suite("Terminal edge cases")
struct TerminalEdgeTests {
    @Test("every size from 1x1 up renders without a crash, on every screen", arguments: [(1, 1), (2, 1), (20, 10), (71, 19), (72, 20), (73, 21), (300, 100)])
    func sizes(width: Int, height: Int) throws {
        var s = try ExplorerFixtures.layerState(width: width, height: height)
        for onLayer in [true, false] {
            s.onLayer = onLayer
            for help in [false, true] {
                s.showHelp = help
                let b = Renderer.render(s)
                #expect(b.width == width && b.height == height)
            }
        }
        if width < Layout.minWidth || height < Layout.minHeight {
            #expect(Renderer.render(s).text.contains("Terminal too small") || width * height < 40)
        }
    }

    @Test("a storm of resizes, clicks and keys keeps the state consistent")
    func resizeStorm() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        var g = SeededRandom(seed: 42)
        let keys: [Key] = [.up, .down, .left, .right, .char("+"), .char("-"), .char("0"), .char("3"), .pageDown, .pageUp, .home, .end]
        for _ in 0..<600 {
            switch g.next() % 3 {
            case 0: _ = Reducer.reduce(&s, .terminal(.resize(width: Int(g.next() % 250), height: Int(g.next() % 80))))
            case 1: _ = Reducer.reduce(&s, .terminal(.mouse(.click(x: Int(g.next() % 250), y: Int(g.next() % 80)))))
            default: _ = Reducer.reduce(&s, .terminal(.key(keys[Int(g.next() % UInt64(keys.count))])))
            }
            let b = Renderer.render(s)
            #expect(b.width == s.width && b.height == s.height)
            if let geo = Reducer.geometry(s), !Layout(width: s.width, height: s.height).tooSmall {
                #expect(s.viewport.row0 >= 0 && s.viewport.row0 + geo.visibleRows <= geo.rows)
                #expect(s.viewport.col0 >= 0 && s.viewport.col0 + geo.visibleCols <= geo.cols)
            }
        }
    }
}
