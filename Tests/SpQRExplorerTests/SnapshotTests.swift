// Views rendered into the cell buffer and compared with recorded snapshots (text, and a colour layer
// where colour carries meaning). Record with SPQR_RECORD_SNAPSHOTS=1 (the recording run fails; run
// again to check); a missing snapshot fails.

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore
@testable import SpQRExplorer

/// The colours of every cell: two hex digits for the foreground and two for the background ("--" = default).
func colourLayer(_ b: CellBuffer) -> String {
    func hex(_ c: TermColor) -> String {
        if case .index(let i) = c { return String(format: "%02x", i) } else { return "--" }
    }
    return (0..<b.height).map { y in
        (0..<b.width).map { x in hex(b[x, y].style.fg) + hex(b[x, y].style.bg) }.joined(separator: " ")
    }
    .joined(separator: "\n")
}

/// The lines of a rendered frame.
func lines(_ b: CellBuffer) -> [String] {
    b.text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
}

@Suite("View snapshots")
struct SnapshotTests {
    static let sizes = [(80, 24), (200, 60)]

    @Test("layer browser", arguments: sizes)
    func browser(width: Int, height: Int) {
        var s = ExplorerFixtures.state(width: width, height: height)
        s.rows[1].statistics = TensorStatistics([0.5, -0.25, 0.125, 1])
        assertSnapshot(Renderer.render(s).text, named: "browser-\(width)x\(height).txt")
    }

    @Test("layer browser with a measured layer: its bits and proxy error before the statistics", arguments: sizes)
    func browserMeasured(width: Int, height: Int) throws {
        var s = try ExplorerFixtures.layerState(width: width, height: height)
        _ = key(&s, .escape)
        let report = try #require(s.reports[qProj])
        let row = try #require(
            lines(Renderer.render(s)).first { $0.contains("self_attn.q_proj") && $0.hasPrefix(" 0") })
        #expect(row.contains(Num.f(report.avgBits, 3)) && row.contains(Num.e(report.relProxyError)), "\(row)")
        assertSnapshot(Renderer.render(s).text, named: "browser-measured-\(width)x\(height).txt")
    }

    @Test("layer view: heatmap, marginals, legend, panel", arguments: sizes)
    func layer(width: Int, height: Int) throws {
        let s = try ExplorerFixtures.layerState(width: width, height: height)
        let b = Renderer.render(s)
        let name = "layer-\(width)x\(height)"
        let frame = lines(b)
        // The whole baseline table: every row with its bits and proxy error, and nothing beside the legend.
        for row in ["RTN", "GPTQ", "RTN ≤ SpQR", "GPTQ ≤ SpQR", "SpQR "] {
            #expect(frame.contains { $0.contains(row) && $0.contains("e-0") }, "\(row) at \(width)x\(height)")
        }
        let legend = frame[height - 3]
        #expect(legend.contains("visible p1–p99") && legend.contains("error ▐max"), "\(legend)")
        assertSnapshot(b.text, named: "\(name).txt")
        assertSnapshot(colourLayer(b), named: "\(name).colour.txt")
    }

    @Test("every heatmap mode", arguments: HeatmapMode.allCases)
    func modes(mode: HeatmapMode) throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 36)
        s.mode = mode
        let b = Renderer.render(s)
        assertSnapshot(b.text, named: "mode-\(mode.rawValue).txt")
        assertSnapshot(colourLayer(b), named: "mode-\(mode.rawValue).colour.txt")
    }

    @Test("zoomed in with the advanced panel")
    func zoomedAdvanced() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 36)
        _ = Reducer.reduce(&s, .terminal(.key(.char("+"))))
        _ = Reducer.reduce(&s, .terminal(.key(.char("+"))))
        s.showAdvanced = true
        assertSnapshot(Renderer.render(s).text, named: "zoomed-advanced.txt")
    }

    @Test("no UTF-8: every glyph is ASCII")
    func asciiFallback() throws {
        let plain = try ExplorerFixtures.layerState(
            width: 100, height: 30, capabilities: TerminalCapabilities(colors: 0, unicode: false))
        let b = Renderer.render(plain)
        #expect(b.text.unicodeScalars.allSatisfy { $0.isASCII })
        assertSnapshot(b.text, named: "layer-nocolour-ascii.txt")
    }

    @Test("8 colours: no colour above the basic eight")
    func eightColours() throws {
        let eight = try ExplorerFixtures.layerState(
            width: 100, height: 30, capabilities: TerminalCapabilities(colors: 8, unicode: true))
        let c = Renderer.render(eight)
        #expect(
            c.cells.allSatisfy { cell in
                [cell.style.fg, cell.style.bg].allSatisfy {
                    if case .index(let i) = $0 { return i < 8 } else { return true }
                }
            })
        assertSnapshot(colourLayer(c), named: "layer-8colours.colour.txt")
    }

    @Test("help overlay, first page and scrolled to the end", arguments: sizes)
    func help(width: Int, height: Int) throws {
        var s = try ExplorerFixtures.layerState(width: width, height: height)
        _ = key(&s, .char("?"))
        assertSnapshot(Renderer.render(s).text, named: "help-\(width)x\(height).txt")
        _ = key(&s, .end)
        assertSnapshot(Renderer.render(s).text, named: "help-\(width)x\(height)-end.txt")
        _ = key(&s, .char("x"))
        #expect(!s.showHelp && s.helpScroll == 0 && s.overrides.isEmpty, "another key closes the help only")
    }

    @Test("the help scrolls through every binding of the screen", arguments: [(80, 24), (100, 30), (200, 60)])
    func helpListsEveryBinding(width: Int, height: Int) throws {
        for onLayer in [true, false] {
            var s =
                onLayer
                ? try ExplorerFixtures.layerState(width: width, height: height)
                : ExplorerFixtures.state(width: width, height: height)
            _ = key(&s, .char("?"))
            var seen = Renderer.render(s).text
            for _ in 0..<20 {
                _ = key(&s, .pageDown)
                seen += Renderer.render(s).text
            }
            #expect(s.showHelp)
            let missing = KeyBindings.active(onLayer: onLayer).filter { !seen.contains($0.help) }.map(\.help)
            #expect(missing.isEmpty, "not listed at \(width)x\(height): \(missing)")
            let notes = HelpView.overrideNotes + (onLayer ? HelpView.figureNotes : [])
            #expect(notes.allSatisfy { seen.contains($0) })
            _ = key(&s, .up)
            _ = key(&s, .home)
            #expect(s.helpScroll == 0)
        }
    }

    @Test("the export prompt shows its label and the typed path")
    func prompt() throws {
        var s = try ExplorerFixtures.layerState(width: 100, height: 30)
        s.prompt = Prompt(kind: .exportPath, text: "spqr-recipe.json")
        #expect(Renderer.render(s).text.contains("export recipe to (Enter to write, Esc to cancel): spqr-recipe.json"))
    }

    @Test("a terminal too small says so")
    func tooSmall() throws {
        let s = try ExplorerFixtures.layerState(width: 40, height: 10)
        assertSnapshot(Renderer.render(s).text, named: "too-small.txt")
    }

    @Test("the too-small message fits every terminal it is shown in", arguments: [(30, 10), (20, 5), (71, 30), (8, 2)])
    func tooSmallFits(width: Int, height: Int) throws {
        let shown = TooSmallView.lines(width: width, height: height)
        #expect(shown.count == min(3, height))
        #expect(shown.allSatisfy { DisplayWidth.of($0) <= width })
        if width >= 27 {
            #expect(shown[0] == "Terminal too small (\(width)x\(height)).")
            #expect(shown.joined().contains("72x20") && shown.joined().contains("q"))
        }
    }

    @Test("a data-free session is flagged in the title")
    func dataFree() {
        let s = ExplorerFixtures.state(width: 100, height: 30)
        #expect(lines(Renderer.render(s))[0].contains("DATA-FREE: H = I"))
    }

    @Test("the title ends with the whole calibration label", arguments: [(80, 24), (100, 30), (200, 60)])
    func titleKeepsCalibration(width: Int, height: Int) throws {
        let s = try ExplorerFixtures.layerState(width: width, height: height)
        let title = lines(Renderer.render(s))[0]
        #expect(title.hasSuffix(" DATA-FREE: H = I "), "\(title)")
    }
}
