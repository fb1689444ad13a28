// The heatmap's contrast: colour entropy read from the rendered cell buffer, the scales fitted to the
// pooled values on screen, the poolings, the marginal bars, and the bar every mode must reach on the
// bundled samples (colour entropy ≥ 2.5 bits at 160×50, whole matrix).

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore
@testable import SpQRExplorer

private let samples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("samples").path

@Suite("Heatmap contrast")
struct HeatmapContrastTests {
    @Test("colour entropy counts both half-block pixels of each cell")
    func entropyOfCells() {
        var b = CellBuffer(width: 4, height: 2)
        let area = Rect(x: 0, y: 0, width: 4, height: 2)
        for y in 0..<2 { for x in 0..<4 { b[x, y] = Cell(glyph: "▀", style: Style(fg: .index(1), bg: .index(1))) } }
        #expect(HeatmapEntropy.colourEntropy(b, area: area) == 0)
        for y in 0..<2 { for x in 0..<4 { b[x, y] = Cell(glyph: "▀", style: Style(fg: .index(1), bg: .index(2))) } }
        #expect(abs(HeatmapEntropy.colourEntropy(b, area: area) - 1) < 1e-12)
        // Four colours in equal shares: 2 bits; glyphs count where there is no colour.
        for x in 0..<4 { b[x, 1] = Cell(glyph: x % 2 == 0 ? "#" : ".", style: .plain) }
        let h = HeatmapEntropy.colourEntropy(b, area: area)  // 4×c1, 4×c2, 2×#, 2×.
        let p: [Double] = [4, 4, 2, 2].map { $0 / 12 }
        #expect(abs(h - p.reduce(0) { $0 - $1 * log2($1) }) < 1e-12)
    }

    @Test("percentiles and fitted scales")
    func scales() throws {
        let v = (1...100).map(Float.init)
        #expect(HeatmapScale.percentile(v, 0) == 1)
        #expect(HeatmapScale.percentile(v, 0.5) == 51)  // nearest rank of 49.5 rounds to index 50
        #expect(HeatmapScale.percentile(v, 1) == 100)
        #expect(HeatmapScale.percentile([], 0.5) == nil)
        let lin = HeatmapScale.fit(v, signed: false, binary: false)
        #expect(lin.kind == .log && lin.lo == 2 && lin.hi == 99, "2…99 spans more than a decade")
        let narrow = HeatmapScale.fit((0..<100).map { 1 + Float($0) / 100 }, signed: false, binary: false)
        #expect(narrow.kind == .linear)
        #expect(narrow.position(narrow.lo) == 0 && narrow.position(narrow.hi) == 1 && narrow.position(0) == 0)
        // Log: the geometric midpoint of the range sits in the middle of the ramp.
        #expect(abs(lin.position((2 * 99 as Float).squareRoot()) - 0.5) < 1e-5)
        #expect(lin.position(1e9) == 1 && lin.position(0) == 0 && lin.position(-3) == 0)
        let signed = HeatmapScale.fit((-50...50).map(Float.init), signed: true, binary: false)
        #expect(signed.kind == .diverging && signed.hi == 50)
        #expect(signed.position(0) == 0.5 && signed.position(-50) == 0 && signed.position(25) == 0.75)
        #expect(HeatmapScale.fit([0, 0, 0], signed: false, binary: false).position(0) == 0)
    }

    @Test("marginal bars spread over the distribution (log), not all full")
    func marginalBars() {
        let v = (0..<100).map { pow(10, Double($0) / 33) }  // 1 … 1000
        let h = MarginalBars.heights(v)
        #expect(MarginalBars.isLog(v))
        #expect(h.last == 1 && h[0] == 0.01 && abs(h[50] - 0.5) < 0.05)
        #expect(MarginalBars.heights([0, 2, 4]) == [0, 0.5, 1], "under a decade: linear from zero")
    }

    /// Maps of a rows×cols (6×4 unless given) matrix with known values for the pooling checks.
    static func smallMaps(rows: Int = 6, cols: Int = 4) -> HeatmapMaps {
        let n = rows * cols
        let w = (0..<n).map { Float($0 % 5) - 2 }
        let q = w.enumerated().map { $1 + ($0 % 3 == 0 ? 0.5 : -0.25) }
        let mask = (0..<n).map { UInt8($0 % 7 == 0 ? 1 : 0) }
        return HeatmapMaps(
            rows: rows, cols: cols, weights: w, quantized: q, mask: mask,
            sensitivity: (0..<n).map { Float($0 + 1) }, error: (0..<n).map { Float($0 * $0) })
    }

    @Test(
        "each pooling is what its name says, over the weights under each pixel",
        arguments: HeatmapMode.allCases, [(6, 4, 2, 2), (9, 21, 3, 2), (40, 70, 4, 3)])
    func pooling(mode: HeatmapMode, size: (rows: Int, cols: Int, width: Int, height: Int)) {
        let maps = Self.smallMaps(rows: size.rows, cols: size.cols)
        // width cell columns × height cell rows = 2·height pixel rows, each over its share of rows and
        // columns; the wider sizes run the eight-column scans and their remainders.
        let g = HeatmapGeometry(
            rows: size.rows, cols: size.cols, area: Rect(x: 0, y: 0, width: size.width, height: size.height),
            viewport: Viewport())
        for p in Pooling.choices(mode) {
            let view = maps.view(mode, p, g)
            for py in 0..<(2 * size.height) {
                for cx in 0..<size.width {
                    let x = g.rowRange(pixel: py).flatMap { r in g.colRange(cell: cx).map { maps.value(mode, r, $0) } }
                    let n = Float(x.count)
                    let want: Float
                    switch p {
                    case .mean, .density: want = x.reduce(0, +) / n
                    case .rms: want = (x.map { $0 * $0 }.reduce(0, +) / n).squareRoot()
                    case .max: want = x.map(abs).max()!
                    }
                    #expect(
                        abs(view.value(cx, py) - want) <= 1e-5 * max(1, abs(want)), "\(mode) \(p) pixel (\(cx), \(py))")
                }
            }
        }
    }

    @Test("c cycles the current mode's pooling, r the colour range; the legend names both")
    func keys() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 36)
        _ = Reducer.reduce(&s, .terminal(.key(.char("3"))))
        #expect(s.pooling == .density)
        _ = Reducer.reduce(&s, .terminal(.key(.char("c"))))
        #expect(s.pooling == .max)
        #expect(lines(Renderer.render(s))[33].contains("yes/no·max"))
        _ = Reducer.reduce(&s, .terminal(.key(.char("c"))))
        #expect(s.pooling == .density)
        _ = Reducer.reduce(&s, .terminal(.key(.char("5"))))
        #expect(s.pooling == .mean, "each mode keeps its own pooling")
        _ = Reducer.reduce(&s, .terminal(.key(.char("r"))))
        #expect(s.wholeLayerRange)
        #expect(lines(Renderer.render(s))[33].contains("diverging·mean·whole layer"))
        #expect(
            KeyBindings.active(onLayer: true).contains { $0.action == .pooling }
                && KeyBindings.active(onLayer: true).contains { $0.action == .range })
    }

    @Test(
        "snapshots of every pooling of every mode, and of the whole-layer range zoomed in",
        arguments: HeatmapMode.allCases.flatMap { m in Pooling.choices(m).map { (m, $0) } })
    func poolingSnapshots(mode: HeatmapMode, pooling: Pooling) throws {
        var s = try ExplorerFixtures.layerState(width: 100, height: 30)
        s.mode = mode
        s.poolings[mode] = pooling
        let b = Renderer.render(s)
        assertSnapshot(b.text, named: "pooling-\(mode.rawValue)-\(pooling).txt")
        assertSnapshot(colourLayer(b), named: "pooling-\(mode.rawValue)-\(pooling).colour.txt")
    }

    @Test("zoomed in: the visible range differs from the whole layer's, which stays the same at every zoom")
    func wholeLayerRange() throws {
        var s = try ExplorerFixtures.layerState(width: 100, height: 30)
        _ = Reducer.reduce(&s, .terminal(.key(.char("+"))))
        _ = Reducer.reduce(&s, .terminal(.key(.char("+"))))
        let maps = try #require(s.layer?.maps)
        let g = try #require(Reducer.geometry(s))
        let whole = maps.wholeLayerScale(s.mode, s.pooling, g)
        #expect(maps.view(s.mode, s.pooling, g).scale != whole)
        #expect(
            whole
                == maps.view(
                    s.mode, s.pooling, HeatmapGeometry(rows: g.rows, cols: g.cols, area: g.area, viewport: Viewport())
                ).scale)
        _ = Reducer.reduce(&s, .terminal(.key(.char("r"))))
        let b = Renderer.render(s)
        assertSnapshot(b.text, named: "zoomed-whole-layer-range.txt")
        assertSnapshot(colourLayer(b), named: "zoomed-whole-layer-range.colour.txt")
    }

    /// The layer screen of a sample layer at 160×50, whole matrix.
    static func sampleState(
        _ checkpoint: String, _ hessians: String, _ layer: String,
        capabilities: TerminalCapabilities = .full
    ) throws -> AppState {
        let c = try ModelFiles.openCheckpoint("\(samples)/\(checkpoint)")
        var s = try RenderBench.state(
            checkpoint: c, calibration: HessianFileCalibration(path: "\(samples)/\(hessians)"),
            config: SpQRConfig(), layer: layer, width: 160, height: 50)
        s.capabilities = capabilities
        return s
    }

    static let smol = ("smollm2-135m-instruct.block15.gguf", "smollm2-135m-instruct.block15.hessians.safetensors")
    static let minilm = ("all-minilm-l6-v2.block3.safetensors", "all-minilm-l6-v2.block3.hessians.safetensors")

    @Test("every mode of the sample's mlp.down_proj reaches 2.5 bits of colour entropy at 160×50")
    func sampleBar() throws {
        let s = try Self.sampleState(Self.smol.0, Self.smol.1, "mlp.down_proj")
        for (mode, bits) in RenderBench.entropies(s) {
            #expect(bits >= 2.5, "\(mode.title): \(bits) bits")
        }
    }

    @Test(
        "other sample layers: every mode reaches 2.5 bits, or, where the pixels' outlier counts carry less, over half of it",
        arguments: [
            (smol, "self_attn.q_proj"), (smol, "self_attn.o_proj"), (smol, "self_attn.k_proj"),
            (smol, "mlp.gate_proj"), (minilm, "layer.3.output.dense"), (minilm, "attention.self.query"),
        ])
    func otherLayers(files: (String, String), layer: String) throws {
        let s = try Self.sampleState(files.0, files.1, layer)
        for (mode, bits) in RenderBench.entropies(s) {
            // What the pixels hold: the pooled values, or the outlier counts under them.
            let values = try #require(RenderBench.valueEntropy(s, mode))
            if values >= 2.5 {
                #expect(bits >= 2.5, "\(layer) \(mode.title): \(bits) bits of \(values)")
            } else {
                #expect(mode == .outliers && bits >= 0.55 * values, "\(layer) \(mode.title): \(bits) bits of \(values)")
            }
        }
    }

    @Test(
        "8 colours and no colour keep the structure: 1.5 bits, or 60% of the 256-colour entropy for sparse outliers",
        arguments: ["mlp.down_proj", "self_attn.q_proj", "self_attn.o_proj"])
    func fallbacks(layer: String) throws {
        var s = try Self.sampleState(Self.smol.0, Self.smol.1, layer)
        let full = Dictionary(uniqueKeysWithValues: RenderBench.entropies(s).map { ($0.mode, $0.bits) })
        for caps in [TerminalCapabilities(colors: 8, unicode: true), TerminalCapabilities(colors: 0, unicode: false)] {
            s.capabilities = caps
            for (mode, bits) in RenderBench.entropies(s) {
                let floor = min(1.5, 0.6 * full[mode]!)
                #expect(
                    bits >= floor,
                    "\(layer), \(caps.colors) colours, \(mode.title): \(bits) bits (256 colours: \(full[mode]!))")
            }
        }
    }

    @Test("pooling a 12288×576 layer's whole view is one pass over it; redraws read the cache")
    func largeLayerPooling() {
        let rows = 12288
        let cols = 576
        let n = rows * cols
        var g = SeededGenerator(seed: 7)
        let w = (0..<n).map { _ in Float(Double(g.next() >> 11) / Double(1 << 53)) - 0.5 }
        let maps = HeatmapMaps(
            rows: rows, cols: cols, weights: w, quantized: w, mask: [UInt8](repeating: 0, count: n),
            sensitivity: w, error: w)
        let geo = HeatmapGeometry(
            rows: rows, cols: cols, area: Rect(x: 0, y: 1, width: 144, height: 55), viewport: Viewport())
        let t0 = DispatchTime.now().uptimeNanoseconds
        let first = maps.view(.weight, .mean, geo)
        let t1 = DispatchTime.now().uptimeNanoseconds
        let again = maps.view(.weight, .mean, geo)
        let t2 = DispatchTime.now().uptimeNanoseconds
        #expect(first.values == again.values)
        print(
            String(
                format: "pool 12288x576 whole view: %.1f ms; cached: %.3f ms", Double(t1 - t0) / 1e6,
                Double(t2 - t1) / 1e6))
        #expect(t2 - t1 < (t1 - t0) / 10, "the second read comes from the cache")
    }
}
