// The reducer, one behaviour per test: keys, the layer list, opening layers, the settings, the heatmap
// viewport and the effects' results.

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore
@testable import SpQRExplorer

/// Sends one key through the reducer.
@discardableResult
func key(_ s: inout AppState, _ k: Key) -> [Effect] { Reducer.reduce(&s, .terminal(.key(k))) }

let qProj = "model.layers.0.self_attn.q_proj.weight"

@Suite("Reducer: keys")
struct ReducerKeyTests {
    @Test("? opens the help")
    func helpOpens() {
        var s = ExplorerFixtures.state(width: 120, height: 40)
        key(&s, .char("?"))
        #expect(s.showHelp)
    }

    @Test("any key closes the help")
    func helpCloses() {
        var s = ExplorerFixtures.state(width: 120, height: 40)
        key(&s, .char("?"))
        key(&s, .char("x"))
        #expect(!s.showHelp, "any key closes the help")
    }

    @Test("a resize changes the size")
    func resize() {
        var s = ExplorerFixtures.state(width: 120, height: 40)
        _ = Reducer.reduce(&s, .terminal(.resize(width: 90, height: 30)))
        #expect(s.width == 90 && s.height == 30)
    }

    @Test("q quits")
    func quit() {
        var s = ExplorerFixtures.state(width: 120, height: 40)
        key(&s, .char("q"))
        #expect(s.quit)
    }
}

@Suite("Reducer: layer list")
struct ReducerBrowserTests {
    func browser() -> AppState {
        var s = ExplorerFixtures.state(width: 120, height: 40)
        s.selection = 0
        return s
    }

    @Test("the list starts on a layer that can be quantized")
    func initialSelection() {
        let s = ExplorerFixtures.state(width: 120, height: 40)
        #expect(s.visibleRows.count == 8)
        #expect(s.selectedRow?.quantizable == true)
    }

    @Test("up at the top stays; down and j move down")
    func upDown() {
        var s = browser()
        key(&s, .up)
        #expect(s.selection == 0)
        key(&s, .down)
        key(&s, .char("j"))
        #expect(s.selection == 2)
    }

    @Test("End, PgDn, PgUp and Home stay inside the list")
    func paging() {
        var s = browser()
        key(&s, .end)
        #expect(s.selection == 7)
        key(&s, .pageDown)
        #expect(s.selection == 7)
        key(&s, .pageUp)
        #expect(s.selection == 0, "a page is longer than the list")
        key(&s, .end)
        key(&s, .home)
        #expect(s.selection == 0)
    }

    @Test("the filter applies while it is typed; Backspace removes a character")
    func filterTyping() {
        var s = browser()
        key(&s, .char("/"))
        for c in "down" { key(&s, .char(c)) }
        #expect(
            s.filter == "down"
                && s.visibleRows.map(\.name) == [
                    "model.layers.0.mlp.down_proj.weight", "model.layers.1.mlp.down_proj.weight",
                ])
        key(&s, .backspace)
        #expect(s.filter == "dow")
    }

    /// The list with "dow" typed at the filter prompt.
    func filtering() -> AppState {
        var s = browser()
        key(&s, .char("/"))
        for c in "dow" { key(&s, .char(c)) }
        return s
    }

    @Test("Enter keeps the filter and closes the prompt")
    func filterEnter() {
        var s = filtering()
        key(&s, .enter)
        #expect(s.prompt == nil && s.filter == "dow")
    }

    @Test("Esc in the filter clears it")
    func filterEscape() {
        var s = filtering()
        key(&s, .escape)
        #expect(s.filter == "" && s.prompt == nil)
    }

    @Test("s cycles the sort: size, proxy error, name")
    func sort() {
        var s = browser()
        key(&s, .char("s"))
        #expect(s.sort == .size && s.visibleRows.first?.name.hasSuffix("down_proj.weight") == true)
        key(&s, .char("s"))
        #expect(s.sort == .error)
        key(&s, .char("s"))
        #expect(s.sort == .name)
    }

    @Test("m shows only the quantizable tensors, and every tensor again; the help lists it")
    func quantizableOnly() {
        var s = browser()
        key(&s, .char("m"))
        #expect(s.quantizableOnly && s.visibleRows.count == 6 && s.visibleRows.allSatisfy(\.quantizable))
        #expect(HelpModel(s).bindings.contains { $0.label == "m" && $0.action == .quantizableOnly })
        key(&s, .char("m"))
        #expect(!s.quantizableOnly && s.visibleRows.count == 8)
    }

    @Test("statistics are asked for after a sort, a filter and Esc, without a cursor move")
    func statisticsAfterListChanges() throws {
        var s = browser()
        #expect(key(&s, .char("s")) == [.computeStatistics([try #require(s.selectedRow?.name)])])
        s = browser()
        key(&s, .char("/"))
        #expect(key(&s, .char("k")) == [.computeStatistics(["model.layers.0.self_attn.k_proj.weight"])])
        #expect(key(&s, .enter) == [.computeStatistics(["model.layers.0.self_attn.k_proj.weight"])])
        s = browser()
        s.selection = 1
        key(&s, .char("/"))
        #expect(key(&s, .escape) == [.computeStatistics(["model.layers.0.mlp.down_proj.weight"])])
        s = browser()
        #expect(key(&s, .char("m")) == [.computeStatistics([try #require(s.selectedRow?.name)])])
    }

    @Test("the list's status row shows the position, the sort and the filters, and the header stays whole")
    func listStatus() throws {
        var s = ExplorerFixtures.state(width: 120, height: 40)
        s.rows += (0..<264).map {
            LayerRow(
                name: "model.layers.\($0 + 2).mlp.up_proj.weight", block: "model.layers.\($0 + 2)", shape: [4, 4],
                dtype: "F32", bitsPerWeight: 32, quantizable: true, reason: nil, note: nil, statistics: nil)
        }
        key(&s, .end)
        let body = Layout(width: 120, height: 40).body
        var lines = Renderer.render(s).text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[body.y].hasSuffix("bits    proxy err   std       max|w|    kurt        "), "\(lines[body.y])")
        #expect(lines[body.maxY - 1].hasPrefix(" 272/272  ·  sorted by name "), "\(lines[body.maxY - 1])")
        key(&s, .char("/"))
        for c in "proj" { key(&s, .char(c)) }
        key(&s, .enter)
        key(&s, .char("s"))
        key(&s, .char("m"))
        lines = Renderer.render(s).text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(
            lines[body.maxY - 1].hasPrefix(" 1/270  ·  sorted by size  ·  filter \"proj\"  ·  quantizable only "),
            "\(lines[body.maxY - 1])")
    }

    @Test("a tensor that cannot be quantized says why within its column, at every width that shows it")
    func shortReason() {
        for width in [80, 120, 160, 200] {
            let s = ExplorerFixtures.state(width: width, height: 30)
            let line = Renderer.render(s).text.split(separator: "\n").first { $0.contains("input_layernorm") }
            #expect(line?.contains(" —       1-D tensor  ") == true, "\(width): \(line ?? "")")
        }
    }

    @Test("a click selects the row under it in a scrolled list")
    func clickInScrolledList() throws {
        var s = ExplorerFixtures.state(width: 100, height: 20)  // 15 list rows: 8 layers fit
        s.rows += (0..<30).map {
            LayerRow(
                name: "model.layers.\($0 + 2).mlp.up_proj.weight", block: "model.layers.\($0 + 2)", shape: [4, 4],
                dtype: "F32", bitsPerWeight: 32, quantizable: true, reason: nil, note: nil, statistics: nil)
        }
        key(&s, .end)
        #expect(s.selection == 37 && s.browserScroll == 37 - 15 + 1)
        let body = Layout(width: 100, height: 20).body
        _ = Reducer.reduce(&s, .terminal(.mouse(.click(x: 3, y: body.y + 1))))
        #expect(s.selection == s.browserScroll)
        let line = Renderer.render(s).text.split(separator: "\n")[body.y + 1]
        let block = try #require(s.selectedRow?.block?.split(separator: ".").last)
        #expect(line.hasPrefix(" \(block) "), "\(line)")
    }
}

@Suite("Reducer: opening layers")
struct ReducerOpenTests {
    @Test("a norm cannot be opened, and the message says why")
    func normRefused() throws {
        var s = ExplorerFixtures.state(width: 120, height: 40)
        s.selection = try #require(s.visibleRows.firstIndex { $0.name == "model.layers.0.input_layernorm.weight" })
        #expect(key(&s, .enter).isEmpty)
        #expect(s.messageIsError && s.message?.contains("cannot be quantized: 1-D tensor") == true)
    }

    @Test("opening a layer asks for a quantization at the current settings")
    func open() throws {
        var s = ExplorerFixtures.state(width: 120, height: 40)
        s.selection = try #require(s.visibleRows.firstIndex { $0.name == qProj })
        let effects = key(&s, .enter)
        #expect(s.onLayer && s.layer?.name == qProj)
        #expect(effects == [.quantize(generation: s.generation, layer: qProj, config: SpQRConfig())])
    }

    @Test("Esc on a layer goes back to the list and cancels the run")
    func back() throws {
        var s = ExplorerFixtures.state(width: 120, height: 40)
        s.selection = try #require(s.visibleRows.firstIndex { $0.name == qProj })
        key(&s, .enter)
        #expect(key(&s, .escape) == [.cancel, .computeStatistics([qProj])], "and the list's row gets its statistics")
        #expect(!s.onLayer)
    }

    @Test("n and p step through the layers in list order (by block, then name)")
    func layerStepping() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 40)
        key(&s, .char("n"))
        #expect(s.layer?.name == "model.layers.1.mlp.down_proj.weight")
        #expect(s.selectedRow?.name == "model.layers.1.mlp.down_proj.weight")
        key(&s, .char("p"))
        key(&s, .char("p"))
        #expect(s.layer?.name == "model.layers.0.self_attn.k_proj.weight")
    }
}
