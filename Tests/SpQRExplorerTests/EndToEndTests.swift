// The explorer end to end: the app loop with the real effect runner on an in-memory terminal, and the
// real binary driven through tmux (open the sample, open a layer, change settings, compare the figures
// on screen with `quantize --json`, apply them to the layer's type, export a recipe with the session
// defaults and the layer's overrides, apply them to all layers, resize, quit, and check the terminal came back;
// odd terminals; a checkpoint path with wide characters).

import Foundation
import Testing

@testable import SpQRCore
@testable import SpQRExplorer

@Suite("Explorer end to end")
struct EndToEndTests {
    @Test("the app loop opens a layer, shows full figures and baselines, and quits")
    func appLoop() throws {
        let checkpoint = ExplorerFixtures.checkpoint
        let terminal = MemoryTerminal(width: 120, height: 40)
        var state = ExplorerApp.initialState(
            checkpoint: checkpoint, calibration: IdentityCalibration(), settings: SpQRConfig(),
            width: 120, height: 40, capabilities: .full)
        state.selection = state.visibleRows.firstIndex { $0.name == "model.layers.1.mlp.down_proj.weight" }!
        let app = ExplorerApp(
            state: state, terminal: terminal,
            runner: EffectRunner(checkpoint: checkpoint, calibration: IdentityCalibration()))
        terminal.events = [.key(.enter)]
        var turns = 0
        while app.state.layer?.baselines == nil && turns < 2000 {
            app.run(maxTurns: 1)
            turns += 1
        }
        #expect(app.state.layer?.baselines != nil, "no baselines after \(turns) turns")
        terminal.events = [.key(.char("W"))]
        app.run(maxTurns: 1)
        #expect(app.state.settings.wbits == 4)
        turns = 0
        while (app.state.layer?.baselines == nil || app.state.layer?.result?.config.wbits != 4) && turns < 2000 {
            app.run(maxTurns: 1)
            turns += 1
        }
        app.run(maxTurns: 1)  // present the frame that shows the last event
        let frame = try #require(terminal.frames.last).text
        #expect(frame.contains("FULL (96 rows)") && frame.contains("  RTN         "), "the compact baseline table")
        #expect(app.state.reports["model.layers.1.mlp.down_proj.weight"]?.config.wbits == 4)
        terminal.events = [.key(.char("q"))]
        app.run(maxTurns: 5)
        #expect(app.state.quit && terminal.restored)
    }
}

@Suite("Explorer in tmux", .serialized)
struct TmuxTests {
    static let root = BinaryRunner.packageRoot.path
    static let layer = "model.layers.15.self_attn.k_proj.weight"

    /// The pid of the child of `parent` whose command name is `name` (from /proc/*/stat).
    static func child(of parent: Int32, named name: String) -> Int32? {
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { continue }
            let comm = stat[stat.index(after: open)..<close]
            let rest = stat[stat.index(after: close)...].split(separator: " ")
            if comm == name, rest.count > 2, Int32(rest[1]) == parent { return pid }
        }
        return nil
    }

    /// Whether the layer view shows full figures at these settings (as the panel shows them: a `*` marks
    /// the layer's overrides).
    static func settled(_ s: String, wbits: String, threshold: String) -> Bool {
        s.contains("FULL (192 rows)") && !s.contains("updating") && s.contains("round-to-nearest ")
            && field(s, "wbits") == "\(wbits)" && field(s, "outlier_threshold") == threshold
    }

    @Test("open the sample, tune, compare with quantize --json, apply to the type, export, apply to all, resize, quit")
    func session() throws {
        try #require(Tmux.available, "tmux is missing; scripts/test.sh installs it")
        try #require(
            FileManager.default.isExecutableFile(atPath: BinaryRunner.binary), "build the binary first (swift build)")
        let tmux = Tmux()
        tmux.start(width: 160, height: 50)
        defer { tmux.stop() }
        let exportDir = FileManager.default.temporaryDirectory.appendingPathComponent("spqr-e2e-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: exportDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: exportDir) }
        tmux.literal("cd \(Self.root) && TERM=tmux-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 .build/debug/spqr-explorer")
        tmux.keys("Enter")
        let list = try #require(
            tmux.wait(30) { $0.contains("self_attn.k_proj.weight") }, "the layer list did not appear:\n\(tmux.screen())"
        )
        #expect(list.contains("smollm2-135m-instruct.block15.gguf") && list.contains("128 seq, 32768 tokens"))
        tmux.keys("/")
        tmux.literal("k_proj")
        tmux.keys("Enter")
        tmux.keys("Enter")
        _ = try #require(
            tmux.wait { Self.settled($0, wbits: "3", threshold: "0.2") }, "the layer did not finish:\n\(tmux.screen())")
        tmux.keys("W")
        _ = tmux.wait(10) { field($0, "wbits") == "4*" }
        tmux.keys("T")
        _ = try #require(
            tmux.wait { Self.settled($0, wbits: "4*", threshold: "0.3*") },
            "no figures for wbits 4, threshold 0.3:\n\(tmux.screen())")
        // Under load a capture can fall between two paints; read the figures once two captures agree.
        var previous = ""
        let tuned = try #require(
            tmux.wait(10) { screen in
                defer { previous = screen }
                return screen == previous && Self.settled(screen, wbits: "4*", threshold: "0.3*")
            }, "the figures did not settle:\n\(tmux.screen())")

        let q = try BinaryRunner.run([
            "quantize", "\(Self.root)/samples/smollm2-135m-instruct.block15.gguf", "--layer", Self.layer,
            "--hessians", "\(Self.root)/samples/smollm2-135m-instruct.block15.hessians.safetensors",
            "--wbits", "4", "--outlier_threshold", "0.3", "--json",
        ])
        #expect(q.status == 0, "\(q.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(q.stdout.utf8)) as? [String: Any])
        #expect(field(tuned, "avg bits") == Num.f(json["avg_bits"] as! Double))
        #expect(field(tuned, "outliers") == "\(json["n_outliers"] as! Int)")
        #expect(field(tuned, "rel proxy error") == Num.e(json["rel_proxy_error"] as! Double))
        #expect(field(tuned, "rel weight error") == Num.e(json["rel_weight_error"] as! Double))
        #expect(field(tuned, "sensitivity conc.") == Num.pct(json["sensitivity_concentration"] as! Double))
        #expect(field(tuned, "error conc.") == Num.pct(json["error_concentration"] as! Double))

        // The sample is one block: k_proj is the only layer of its type.
        tmux.keys("Y")
        _ = try #require(
            tmux.wait(10) { $0.contains("outlier_threshold 0.3 for every self_attn.k_proj layer; 0 other") },
            "no apply-to-type message:\n\(tmux.screen())")
        let recipePath = exportDir.appendingPathComponent("tuned.json").path
        tmux.keys("e")
        _ = tmux.wait(10) { $0.contains("export recipe to") }
        for _ in 0..<Reducer.defaultRecipePath.count { tmux.keys("BSpace") }
        tmux.literal(recipePath)
        tmux.keys("Enter")
        _ = try #require(
            tmux.wait(30) { $0.contains("recipe written to") }, "no export confirmation:\n\(tmux.screen())")
        let recipe = try Recipe.read(path: recipePath)
        // The defaults are the session's (the command line's: the README 3-bit recipe); the tuned layer
        // alone carries overrides.
        #expect(Setting.differences(recipe.defaults, from: SpQRConfig()).isEmpty, "\(recipe.defaults)")
        #expect(recipe.layers[Self.layer]?.overrides == ["wbits": .int(4), "outlier_threshold": .double(0.3)])
        #expect(recipe.layers.filter { !$0.value.overrides.isEmpty }.count == 1)
        #expect(recipe.layers[Self.layer]?.figures?.nOutliers == json["n_outliers"] as? Int)
        // A asks first (the sample's six other layers change), then the settings become the defaults.
        tmux.keys("A")
        _ = try #require(
            tmux.wait(10) { $0.contains("apply these settings to all layers (6 layers change)? [y/N]") },
            "no apply-to-all prompt:\n\(tmux.screen())")
        tmux.keys("y")
        _ = try #require(
            tmux.wait(10) { $0.contains("defaults now wbits 4 · outlier_threshold 0.3 for all layers") },
            "no apply-to-all message:\n\(tmux.screen())")

        tmux.run(["resize-window", "-t", "e2e", "-x", "100", "-y", "30"])
        _ = try #require(
            tmux.wait(10) { s in s.contains("Settings") && s.split(separator: "\n").allSatisfy { $0.count <= 100 } },
            "no redraw at 100x30:\n\(tmux.screen())")
        tmux.run(["resize-window", "-t", "e2e", "-x", "50", "-y", "15"])
        _ = try #require(
            tmux.wait(10) { $0.contains("Terminal too small (50x15)") }, "no too-small message:\n\(tmux.screen())")
        tmux.run(["resize-window", "-t", "e2e", "-x", "160", "-y", "50"])
        _ = try #require(tmux.wait(10) { $0.contains("Figures") }, "no redraw after growing back")

        tmux.keys("q")
        let back = try #require(
            tmux.wait(10) { $0.contains("e2e$ ") && !$0.contains("Figures") },
            "the shell did not come back:\n\(tmux.screen())")
        #expect(back.contains("spqr-explorer"), "the screen before the explorer is restored")
        #expect(
            tmux.run(["display", "-p", "-t", "e2e", "#{alternate_on}"]).trimmingCharacters(in: .whitespacesAndNewlines)
                == "0")
    }

    @Test(
        "the terminal is restored after SIGTERM, SIGINT, SIGHUP and a crash",
        arguments: ["TERM", "INT", "HUP", "crash"])
    func restoredOnAbnormalExit(kind: String) throws {
        try #require(Tmux.available, "tmux is missing; scripts/test.sh installs it")
        let tmux = Tmux()
        tmux.start(width: 120, height: 40)
        defer { tmux.stop() }
        let env = kind == "crash" ? "SPQR_DEBUG_CRASH=1 " : ""
        tmux.literal(
            "cd \(Self.root) && \(env)TERM=tmux-256color LANG=C.UTF-8 .build/debug/spqr-explorer; echo exit=$?")
        tmux.keys("Enter")
        let expected: String
        if kind == "crash" {
            expected = "exit=132"
        } else {
            _ = try #require(tmux.wait(30) { $0.contains("SpQR Explorer") }, "the explorer did not start")
            let pids = tmux.run(["list-panes", "-t", "e2e", "-F", "#{pane_pid}"]).trimmingCharacters(
                in: .whitespacesAndNewlines)
            let shell = try #require(Int32(pids), "no pane pid in '\(pids)'")
            let explorer = try #require(
                Self.child(of: shell, named: "spqr-explorer"), "the explorer process was not found")
            let signal: Int32 = kind == "TERM" ? SIGTERM : (kind == "INT" ? SIGINT : SIGHUP)
            kill(explorer, signal)
            expected = "exit=\(128 + signal)"
        }
        let after = try #require(
            tmux.wait(30) { $0.range(of: "exit=[0-9]", options: .regularExpression) != nil },
            "the explorer did not end:\n\(tmux.screen())")
        #expect(after.contains(expected), "\(after)")
        #expect(
            tmux.run(["display", "-p", "-t", "e2e", "#{alternate_on}"]).trimmingCharacters(in: .whitespacesAndNewlines)
                == "0")
    }

    @Test(
        "odd terminals: TERM=dumb and an unknown TERM are refused, 8-colour xterm and LANG=C work",
        arguments: ["dumb", "nosuch", "xterm", "LANG=C"])
    func oddTerminals(kind: String) throws {
        try #require(Tmux.available, "tmux is missing; scripts/test.sh installs it")
        let tmux = Tmux()
        tmux.start(width: 120, height: 40)
        defer { tmux.stop() }
        let env: String
        switch kind {
        case "dumb": env = "TERM=dumb"
        case "nosuch": env = "TERM=no-such-terminal"
        case "xterm": env = "TERM=xterm LANG=C.UTF-8"
        default: env = "TERM=tmux-256color LANG=C LC_ALL=C"
        }
        tmux.literal("cd \(Self.root) && \(env) .build/debug/spqr-explorer; echo exit=$?")
        tmux.keys("Enter")
        if kind == "dumb" || kind == "nosuch" {
            let s = try #require(
                tmux.wait(30) { $0.range(of: "exit=[0-9]", options: .regularExpression) != nil }, "\(tmux.screen())")
            #expect(s.contains("exit=1"))
            #expect(
                s.contains(
                    kind == "dumb" ? "TERM=dumb cannot address the cursor" : "ncurses does not know the terminal type"))
            return
        }
        let screen = try #require(
            tmux.wait(30) { $0.contains("SpQR Explorer") }, "the explorer did not start:\n\(tmux.screen())")
        if kind == "LANG=C" {
            #expect(!screen.contains("×") && screen.contains("576x1536"), "ASCII stand-ins without UTF-8")
        }
        tmux.keys("q")
        let after = try #require(tmux.wait(10) { $0.contains("exit=0") }, "\(tmux.screen())")
        #expect(after.contains("exit=0"))
        #expect(
            tmux.run(["display", "-p", "-t", "e2e", "#{alternate_on}"]).trimmingCharacters(in: .whitespacesAndNewlines)
                == "0")
    }

    @Test("a checkpoint path with CJK and emoji keeps the calibration label at the terminal's right edge")
    func widePath() throws {
        try #require(Tmux.available, "tmux is missing; scripts/test.sh installs it")
        try #require(
            FileManager.default.isExecutableFile(atPath: BinaryRunner.binary), "build the binary first (swift build)")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("数据🙂\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let checkpoint = dir.appendingPathComponent("模型.safetensors").path
        try FileManager.default.copyItem(atPath: ExplorerFixtures.checkpointPath, toPath: checkpoint)
        // The command goes through a script at an ASCII path, so that nothing depends on how tmux types UTF-8.
        let script = FileManager.default.temporaryDirectory.appendingPathComponent("spqr-wide-\(UUID().uuidString).sh")
            .path
        defer { unlink(script) }
        try "TERM=tmux-256color LANG=C.UTF-8 LC_ALL=C.UTF-8 \(Self.root)/.build/debug/spqr-explorer '\(checkpoint)'\n"
            .write(toFile: script, atomically: true, encoding: .utf8)
        let tmux = Tmux()
        tmux.start(width: 100, height: 30)
        defer { tmux.stop() }
        tmux.literal("bash \(script)")
        tmux.keys("Enter")
        let screen = try #require(
            tmux.wait(30) { $0.contains("self_attn.q_proj") }, "the layer list did not appear:\n\(tmux.screen())")
        let title = String(screen.split(separator: "\n")[0])
        #expect(title.contains(checkpoint), "\(title)")
        // capture-pane drops the label's trailing blank.
        #expect(title.hasSuffix(" DATA-FREE: H = I") && DisplayWidth.of(title) == 99, "\(title)")
        tmux.keys("q")
    }

    @Test("quantize on a terminal shows its phases and progress on stderr, then clears the line before the table")
    func headlessProgressOnTerminal() throws {
        try #require(Tmux.available, "tmux is missing; scripts/test.sh installs it")
        let tmux = Tmux()
        tmux.start(width: 150, height: 40)
        defer { tmux.stop() }
        let raw = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spqr-progress-\(UUID().uuidString).log"
        ).path
        defer { unlink(raw) }
        tmux.run(["pipe-pane", "-o", "-t", "e2e", "cat >> \(raw)"])
        tmux.literal(
            "cd \(Self.root) && .build/debug/spqr-explorer quantize samples/smollm2-135m-instruct.block15.gguf "
                + "--layer model.layers.15.mlp.down_proj.weight "
                + "--hessians samples/smollm2-135m-instruct.block15.hessians.safetensors; echo exit=$?")
        tmux.keys("Enter")
        // The equal-bit search runs one round-to-nearest pass and one GPTQ run per grid point within the budget.
        let screen = try #require(
            tmux.wait(240) { $0.range(of: "exit=[0-9]", options: .regularExpression) != nil }, "\(tmux.screen())")
        #expect(screen.contains("exit=0") && screen.contains("round-to-nearest"))
        #expect(!screen.contains("quantize: "), "the progress line is cleared")
        let bytes = try String(contentsOfFile: raw, encoding: .utf8)
        for phase in [
            "quantize: factorising", "quantize: 100%", "quantize: baselines", "quantize: equal-bit baselines",
        ] {
            #expect(bytes.contains("\r\u{1B}[K" + phase), "\(phase) was not shown in place")
        }
    }
}
