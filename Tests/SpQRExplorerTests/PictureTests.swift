// Pictures: the heatmap and the sweep's plot written as PNG files through libpng and decoded back
// (libpng's reader) to check their size and pixels against the maps' colours; `render` and
// `sweep --plot-png` headless; `P` in the explorer through tmux.

import CPNG
import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore
@testable import SpQRExplorer

/// A PNG file decoded to 8-bit RGB by libpng.
struct DecodedPNG {
    let width: Int
    let height: Int
    let bytes: [UInt8]

    init(path: String) throws {
        var rgb: UnsafeMutablePointer<UInt8>?
        var w: UInt32 = 0
        var h: UInt32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let rc = spqr_png_read_rgb(path, &rgb, &w, &h, &message)
        defer { free(rgb) }
        guard rc == 0, let rgb else {
            throw SpQRError(.fileFormat, "\(path): \(PNGFile.text(message))")
        }
        width = Int(w)
        height = Int(h)
        bytes = Array(UnsafeBufferPointer(start: rgb, count: width * height * 3))
    }

    subscript(x: Int, y: Int) -> RGB {
        let k = 3 * (y * width + x)
        return RGB(r: bytes[k], g: bytes[k + 1], b: bytes[k + 2])
    }
}

@Suite("Pictures")
struct PictureTests {
    static func temporary(_ name: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("spqr-picture-\(UUID().uuidString)-\(name)").path
    }

    @Test("xterm palette colours")
    func palette() {
        #expect(RGB.xterm(16) == RGB(r: 0, g: 0, b: 0) && RGB.xterm(231) == .white)
        #expect(RGB.xterm(53) == RGB(r: 95, g: 0, b: 95) && RGB.xterm(226) == RGB(r: 255, g: 255, b: 0))
        #expect(RGB.xterm(232) == RGB(r: 8, g: 8, b: 8) && RGB.xterm(9) == RGB(r: 255, g: 0, b: 0))
    }

    @Test("a heatmap picture decodes back with its size and every weight's colour", arguments: HeatmapMode.allCases)
    func heatmapRoundTrip(mode: HeatmapMode) throws {
        let maps = HeatmapContrastTests.smallMaps()  // 6 × 4
        let pooling = Pooling.choices(mode)[0]
        let picture = HeatmapPicture(
            HeatmapPicture.Request(
                maps: maps, layer: "w", mode: mode, pooling: pooling, rows: 0..<6, cols: 0..<4, wholeLayerRange: false))
        #expect(picture.rowRanges.count == 6 && picture.colRanges.count == 4, "one pixel per weight")
        let path = Self.temporary("map.png")
        defer { unlink(path) }
        try PNGFile.write(picture.image, to: path)
        let png = try DecodedPNG(path: path)
        #expect(png.width == picture.image.width && png.height == picture.image.height)
        #expect(png.bytes == picture.image.bytes)
        let e = picture.enlargement
        #expect(e == 8)
        let signed = Pooling.signed(mode, pooling)
        for r in 0..<6 {
            for c in 0..<4 {
                let v = maps.value(mode, r, c)
                let want = HeatmapPicture.colour(picture.view.scale.position(v), signed: signed)
                // The middle of the weight's enlarged pixel.
                #expect(png[picture.origin.x + c * e + e / 2, picture.origin.y + r * e + e / 2] == want, "(\(r), \(c))")
            }
        }
        // The margin is white and the title is ink.
        #expect(png[0, 0] == .white)
        #expect((0..<png.width).contains { png[$0, HeatmapPicture.margin + 1] == .black })
    }

    @Test("large regions pool several weights per pixel, at most 4096 a side")
    func pooledPixels() {
        #expect(HeatmapPicture.split(0..<10, 4) == [0..<2, 2..<5, 5..<7, 7..<10])
        #expect(HeatmapPicture.split(3..<7, 4) == [3..<4, 4..<5, 5..<6, 6..<7])
    }

    @Test("a free name: -2, -3 … before .png")
    func freePath() throws {
        let path = Self.temporary("x.png")
        #expect(PictureJob.freePath(path) == path)
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        defer { unlink(path) }
        #expect(PictureJob.freePath(path) == String(path.dropLast(4)) + "-2.png")
    }

    @Test("P asks for the picture of the view as shown, named beside the model")
    func pictureEffect() throws {
        var s = try ExplorerFixtures.layerState(width: 120, height: 36, searched: false)
        s.checkpointPath = "/models/tiny.safetensors"
        _ = Reducer.reduce(&s, .terminal(.key(.char("3"))))
        _ = Reducer.reduce(&s, .terminal(.key(.char("+"))))
        let effects = Reducer.reduce(&s, .terminal(.key(.char("P"))))
        guard case .writePicture(let job) = try #require(effects.first) else {
            Issue.record("expected a picture, got \(effects)")
            return
        }
        let g = try #require(Reducer.geometry(s))
        #expect(job.request.mode == .outliers && job.request.pooling == .density)
        #expect(job.request.rows.count == g.visibleRows && job.request.cols.count == g.visibleCols)
        #expect(job.path.hasPrefix("/models/model.layers.0.self_attn.q_proj.outliers.rows-"))
        _ = Reducer.reduce(&s, .pictureWritten(path: "/models/x.png"))
        #expect(s.message == "picture written to /models/x.png")
    }

    @Test("render writes the heatmap headless; sweep --plot-png the Pareto plot")
    func headless() throws {
        let out = Self.temporary("render.png")
        defer { unlink(out) }
        let r = try BinaryRunner.run([
            "render", ExplorerFixtures.checkpointPath, "--layer", "layers.1.mlp.down_proj", "--mode", "outliers",
            "--out", out,
        ])
        #expect(r.status == 0, "\(r.stderr)")
        let png = try DecodedPNG(path: out)
        // 96 × 64 weights enlarged 5×, with the title and legend around.
        #expect(r.stdout.contains("heatmap 64×96 (64×96 weights, 5× enlarged)"), "\(r.stdout)")
        #expect(png.width >= 64 * 5 + 2 * HeatmapPicture.margin && png.height > 96 * 5)
        let again = try BinaryRunner.run([
            "render", ExplorerFixtures.checkpointPath, "--layer", "down_proj", "--mode", "outliers", "--out", out,
            "--force",
        ])
        #expect(again.status == 1 && again.stderr.contains("matches 2 layers"), "\(again.stderr)")
        let bad = try BinaryRunner.run([
            "render", ExplorerFixtures.checkpointPath, "--layer", "layers.1.mlp.down_proj", "--mode", "delta",
            "--pooling", "density", "--out", out, "--force",
        ])
        #expect(bad.status == 1 && bad.stderr.contains("pools by mean, rms, max"), "\(bad.stderr)")

        let plot = Self.temporary("pareto.png")
        defer { unlink(plot) }
        let sweep = try BinaryRunner.run([
            "sweep", ExplorerFixtures.checkpointPath, "--layer", "model.layers.1.mlp.down_proj.weight", "--wbits",
            "2,3,4", "--groupsize", "8,16", "--no-plot", "--plot-png", plot,
        ])
        #expect(sweep.status == 0, "\(sweep.stderr)")
        let p = try DecodedPNG(path: plot)
        #expect(p.width >= ParetoPicture.plotWidth && p.height >= ParetoPicture.plotHeight)
        let front = RGB.xterm(ColorRamp.diverging256.last!)
        let frontPixels = (0..<p.height).reduce(0) { n, y in n + (0..<p.width).filter { p[$0, y] == front }.count }
        #expect(frontPixels >= 81, "at least one front point (9×9) is drawn")
    }

    @Test("P in the explorer (tmux) writes the heatmap beside the model with the maps' colours")
    func tmuxPicture() throws {
        try #require(Tmux.available, "tmux is missing; scripts/test.sh installs it")
        let dir = Self.temporary("model")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.copyItem(atPath: ExplorerFixtures.checkpointPath, toPath: dir + "/tiny.safetensors")
        let tmux = Tmux()
        tmux.start(width: 120, height: 40)
        defer { tmux.stop() }
        tmux.literal(
            "cd \(BinaryRunner.packageRoot.path) && TERM=tmux-256color LANG=C.UTF-8 .build/debug/spqr-explorer \(dir)/tiny.safetensors; echo exit=$?"
        )
        tmux.keys("Enter")
        _ = try #require(tmux.wait(30) { $0.contains("SpQR Explorer") }, "the explorer did not start")
        tmux.keys("Enter")  // the first quantizable layer: model.layers.0.mlp.down_proj.weight
        _ = try #require(tmux.wait(30) { $0.contains("visible p1–p99") }, "no heatmap:\n\(tmux.screen())")
        tmux.keys("P")
        let screen = try #require(tmux.wait(30) { $0.contains("picture written to") }, "\(tmux.screen())")
        tmux.keys("q")
        let path = dir + "/model.layers.0.mlp.down_proj.sensitivity.png"
        #expect(screen.contains("picture written to \(dir)/model.layers.0.mlp.dow"))
        let png = try DecodedPNG(path: path)
        // The same layer quantized here, drawn the same way.
        let name = "model.layers.0.mlp.down_proj.weight"
        let w = try ExplorerFixtures.checkpoint.matrix(name)
        let config = SpQRConfig()
        let r = try SpQR.run(
            try PreparedLayer(name: name, weights: w, hessian: Hessian.identity(w.cols), config: config), config: config
        )
        let maps = HeatmapMaps(result: r, weights: w)
        let picture = HeatmapPicture(
            HeatmapPicture.Request(
                maps: maps, layer: name, mode: .sensitivity, pooling: .mean, rows: 0..<96, cols: 0..<64,
                wholeLayerRange: false))
        #expect(png.width == picture.image.width && png.height == picture.image.height)
        let e = picture.enlargement
        for (row, col) in [(0, 0), (5, 63), (50, 17), (95, 40), (95, 0)] {
            let want = HeatmapPicture.colour(
                picture.view.scale.position(maps.value(.sensitivity, row, col)), signed: false)
            #expect(png[picture.origin.x + col * e + 1, picture.origin.y + row * e + 1] == want, "(\(row), \(col))")
        }
    }
}
