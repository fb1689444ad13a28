// Views rendered alone from their models into a given area, and wide characters in the cell buffer.

import Testing

@testable import SpQRCore
@testable import SpQRExplorer

@Suite("Views alone")
struct ViewTests {
    @Test("the baseline table: bits in every row, 'searching…' until the equal-bit rows arrive, then their settings")
    func equalBitRows() throws {
        let before = try ExplorerFixtures.layerState(width: 200, height: 60, searched: false)
        let beforeLayer = try #require(before.layer)
        let waiting = PanelView.baselines(try #require(LayerModel(before, beforeLayer)).panel).map(\.text)
        #expect(waiting.first?.contains("bits") == true && waiting.contains { $0.contains("searching…") })
        #expect(!waiting.contains { $0.hasPrefix("GPTQ ≤ SpQR bits") })
        let after = try ExplorerFixtures.layerState(width: 200, height: 60)
        let e = try #require(after.layer?.equalBitBaselines)
        let afterLayer = try #require(after.layer)
        let text = PanelView.baselines(try #require(LayerModel(after, afterLayer)).panel).map(\.text)
        #expect(!text.contains { $0.contains("searching…") })
        let gptq = try #require(e.gptq)
        let spqr = try #require(after.layer?.result)
        #expect(text.contains { $0.hasPrefix("GPTQ ≤ SpQR bits ") && $0.contains(Num.f(gptq.figures.avgBits, 3)) })
        #expect(text.contains { $0.hasPrefix("SpQR ") && $0.contains(Num.f(spqr.figures.avgBits, 3)) })
        #expect(text.contains { $0 == "  GPTQ: " + EqualBitSearch.summary(gptq.settings) })
    }

    @Test("the figures name the proxy error data-free under H = I, and warn when the layer is bigger than fp16")
    func dataFreeAndSizeWarning() throws {
        var s = try ExplorerFixtures.layerState(width: 200, height: 60, searched: false)
        let layer = try #require(s.layer)
        var panel = try #require(LayerModel(s, layer)).panel
        var text = PanelView.figures(panel).map(\.text)
        #expect(
            text.contains { $0.hasPrefix("rel proxy error   ") && $0.hasSuffix("  (data-free, H = I)") }, "\(text)")
        #expect(!text.contains { $0.contains("bigger than fp16") })
        s.calibrationKind = .hessian
        text = PanelView.figures(try #require(LayerModel(s, layer)).panel).map(\.text)
        #expect(text.contains { $0.hasPrefix("rel proxy error   ") && !$0.contains("data-free") })
        // outlier_threshold 0 keeps every weight as an outlier.
        let w = try ExplorerFixtures.checkpoint.matrix(qProj)
        var c = SpQRConfig()
        c.outlierThreshold = 0
        let p = try PreparedLayer(name: qProj, weights: w, hessian: Hessian.identity(w.cols), config: c)
        panel.result = try SpQR.run(p, config: c)
        panel.settings = c
        let f = try #require(panel.result?.figures)
        #expect(f.storageBitsPerWeight > 16)
        text = PanelView.figures(panel).map(\.text)
        let warning = try #require(text.first { $0.hasPrefix("! bigger than fp16: ") })
        #expect(warning.contains(String(format: "×%.2f", 16 / f.storageBitsPerWeight)), "\(warning)")
        #expect(text.contains("  raise outlier_threshold or lower wbits"))
    }

    @Test("SizeWarning: only above 16 bits per weight, with the ratio to fp16")
    func sizeWarning() {
        #expect(SizeWarning.message(storageBitsPerWeight: 16, outlierFraction: 0.3) == nil)
        #expect(
            SizeWarning.message(storageBitsPerWeight: 19.3, outlierFraction: 0.49)
                == "bigger than fp16: 19.3 bits per weight (×0.83 of fp16's size) with 49.0% outliers; "
                + "raise outlier_threshold or lower wbits")
    }

    @Test("the panel draws its settings and 'computing…' before any result, inside its area only")
    func panelAlone() {
        let c = SpQRConfig()
        let m = PanelModel(
            settings: c, sliders: SettingControls.sliderPositions(c), advanced: SettingControls.advancedValues(c),
            showAdvanced: false, advancedFocus: 0, result: nil, error: nil, baselines: nil, maps: nil,
            sourceDtype: "F16", sourceBitsPerWeight: 16, calibration: .hessian, cursor: nil, unicode: true)
        var b = CellBuffer(width: 60, height: 12)
        PanelView.render(m, Rect(x: 5, y: 2, width: 50, height: 9), &b)
        let text = lines(b)
        #expect(text[2] == "     Settings" + String(repeating: " ", count: 47))
        #expect(text[3].hasPrefix("     wbits             3     ─●──────  w/W"))
        // Too short for the sections with blank lines between them: the blank lines go first.
        #expect(text[7].hasPrefix("     Figures") && text[8].hasPrefix("     computing…"))
        #expect(text[9].hasPrefix("     Baselines"))
        #expect(
            text[0...1].allSatisfy { $0.allSatisfy { $0 == " " } } && text[11].allSatisfy { $0 == " " },
            "nothing outside the area")
        #expect(text.allSatisfy { $0.prefix(5).allSatisfy { $0 == " " } })
    }

    @Test("the heatmap side draws its title and, before any map, why the map is missing")
    func heatmapAlone() {
        let m = HeatmapModel(
            rows: 48, cols: 96, maps: nil, mapsStale: false, mode: .error, pooling: .mean, wholeLayerRange: false,
            viewport: Viewport(), progress: nil,
            error: "singular Hessian", capabilities: .full)
        let area = Rect(x: 0, y: 0, width: 100, height: 20)
        var b = CellBuffer(width: 100, height: 20)
        _ = LayerView.renderHeatmap(m, LayerAreas(body: area), &b)
        let text = lines(b)
        #expect(text[0].hasPrefix("[4] error contribution  rows 0–47  cols 0–95  zoom 1×"))
        let heatmap = LayerAreas(body: area).heatmap
        #expect(text[heatmap.y + heatmap.height / 2].hasPrefix(" Could not quantize: singular Hessian"))
        #expect(text.dropFirst().allSatisfy { !$0.contains("Settings") }, "the panel is not drawn")
    }

    @Test("the browser draws its rows with the figures of the measured ones")
    func browserAlone() {
        let row = LayerRow(
            name: "model.layers.3.mlp.up_proj.weight", block: "model.layers.3", shape: [8, 4], dtype: "F32",
            bitsPerWeight: 32, quantizable: true, reason: nil, note: nil, statistics: nil)
        let m = BrowserModel(
            rows: [row], measured: [row.name: .init(avgBits: 3.25, relProxyError: 0.0125)], selection: 0, scroll: 0,
            filter: "")
        var b = CellBuffer(width: 110, height: 4)
        BrowserView.render(m, b.bounds, &b)
        let line = lines(b)[1]
        #expect(line.hasPrefix(" 3       mlp.up_proj.weight "))
        #expect(line.contains("8×4") && line.contains("3.250") && line.contains("1.2500e-02"), "\(line)")
    }
}

@Suite("Wide characters")
struct WideCharacterTests {
    @Test("display widths: ASCII 1, CJK and emoji 2, combining marks and joiners 0")
    func widths() {
        #expect(DisplayWidth.of("a") == 1 && DisplayWidth.of("é") == 1 && DisplayWidth.of("─") == 1)
        #expect(
            DisplayWidth.of("模") == 2 && DisplayWidth.of("한") == 2 && DisplayWidth.of("Ａ") == 2
                && DisplayWidth.of("🙂") == 2)
        #expect(
            DisplayWidth.of("\u{0301}") == 0 && DisplayWidth.of("\u{200D}") == 0 && DisplayWidth.of("\u{FE0F}") == 0)
        #expect(DisplayWidth.of("模型/🙂e\u{0301}") == 2 + 2 + 1 + 2 + 1)
        #expect(DisplayWidth.suffix("ab模型", fitting: 3) == "型" && DisplayWidth.suffix("ab模型", fitting: 5) == "b模型")
    }

    @Test("a wide glyph takes two cells and the text after it keeps its columns")
    func cells() {
        var b = CellBuffer(width: 10, height: 1)
        let end = b.write("a模e\u{0301}🙂z", x: 0, y: 0)
        #expect(end == 7)
        #expect(b[1, 0].glyph == "模" && b[1, 0].width == 2 && b[2, 0].width == 0)
        #expect(b[3, 0].glyph == "e" && b[3, 0].marks == ["\u{0301}"])
        #expect(b[4, 0].glyph == "🙂" && b[6, 0].glyph == "z")
        #expect(b.text == "a模e\u{0301}🙂z   ")
    }

    @Test("a wide glyph that would straddle the clip's edge is not drawn; one overwritten in half leaves a blank")
    func clipAndOverwrite() {
        var b = CellBuffer(width: 6, height: 1)
        b.write("ab模", x: 0, y: 0, clip: Rect(x: 0, y: 0, width: 3, height: 1))
        #expect(b.text == "ab    ")
        b.write("模型", x: 0, y: 0)
        b.write("x", x: 1, y: 0)
        #expect(b.text == " x型  " && b[0, 0].width == 1)
    }

    @Test("a CJK and emoji checkpoint path keeps the calibration label at the right edge of the title")
    func titleWithWidePath() {
        let path = "/数据/模型🙂/tiny.safetensors"
        let m = TitleModel(checkpointPath: path, layer: nil, calibration: "hessians: 模型.safetensors", colors: 256)
        var b = CellBuffer(width: 90, height: 1)
        TitleBar.render(m, b.bounds, &b)
        let title = b.text
        #expect(title.hasPrefix(" SpQR Explorer  \(path) "))
        #expect(title.hasSuffix(" hessians: 模型.safetensors "))
        #expect(DisplayWidth.of(title) == 90, "the line is exactly as wide as the terminal")
    }

    @Test("a wide path too long for the title is cut at its start, in whole characters")
    func titleCutsWidePath() {
        let m = TitleModel(
            checkpointPath: "/数据/模型🙂/" + String(repeating: "层", count: 40), layer: nil, calibration: nil, colors: 256)
        var b = CellBuffer(width: 72, height: 1)
        TitleBar.render(m, b.bounds, &b)
        let title = b.text
        #expect(title.hasPrefix(" SpQR Explorer  …层"))
        #expect(title.hasSuffix(" DATA-FREE: H = I "))
        #expect(DisplayWidth.of(title) == 72)
    }

    @Test("a wide layer name does not shift the browser's later columns")
    func browserColumns() {
        func row(_ name: String) -> LayerRow {
            LayerRow(
                name: name, block: "model.layers.0", shape: [8, 4], dtype: "F32", bitsPerWeight: 32, quantizable: true,
                reason: nil, note: nil, statistics: nil)
        }
        let m = BrowserModel(
            rows: [row("model.layers.0.注意力.weight"), row("model.layers.0.attn.weight")],
            measured: [:], selection: 0, scroll: 0, filter: "")
        var b = CellBuffer(width: 110, height: 4)
        BrowserView.render(m, b.bounds, &b)
        let text = lines(b)
        func shapeColumn(_ line: String) -> Int? {
            guard let r = line.range(of: "8×4") else { return nil }
            return DisplayWidth.of(String(line[..<r.lowerBound]))
        }
        #expect(shapeColumn(text[1]) != nil && shapeColumn(text[1]) == shapeColumn(text[2]))
        #expect(text.allSatisfy { DisplayWidth.of($0) == 110 })
    }
}
