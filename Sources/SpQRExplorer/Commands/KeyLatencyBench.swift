// Key latency on the input loop: each key of the layer view is reduced and the next frame rendered, as
// the explorer's loop does, while the effects it asks for run in the background on a real EffectRunner
// (quantization of the layer, the trade-off grid). Printed per key: the time from the key to the new frame,
// and the longest turn of the loop (events drained, reduced, frame rendered) in the following 150 ms, which
// is how long a key pressed then would wait.

import Dispatch
import Foundation
import SpQRCore

enum KeyLatencyBench {
    /// The keys, in the order pressed: every setting slider both ways, outliers off and on, the cursor, zoom,
    /// modes, pooling, range, the advanced panel, the trade-off view and the help.
    static let keys: [(label: String, key: Key)] =
        ["w", "W", "g", "G", "t", "T", "x", "x", "+", "-", "0", "1", "3", "5", "2", "c", "r", "r", "a", "<", ">", "a"]
        .map { ($0, Key.char(Character($0))) }
        + [("→", .right), ("↓", .down), ("PgDn", .pageDown), ("f", .char("f")), ("→", .right), ("f", .char("f")),
            ("?", .char("?")), ("PgDn", .pageDown), ("Esc", .escape)]

    static func milliseconds(since t: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6 }

    /// Presses every key of `keys` on `state` (a layer screen) with `runner` doing the background work;
    /// prints one line per key and a summary, and returns the (key, frame, longest turn) figures in ms.
    @discardableResult
    static func run(_ start: AppState, runner: EffectRunner, settleMilliseconds: Double = 150) -> [(
        String, Double, Double
    )] {
        var state = start
        var pooled = PooledViewCache.completed
        _ = Renderer.render(state)
        var figures: [(String, Double, Double)] = []
        for (label, key) in keys {
            let t0 = DispatchTime.now().uptimeNanoseconds
            ExplorerApp.step(&state, .terminal(.key(key)), runner)
            _ = Renderer.render(state)
            let frame = milliseconds(since: t0)
            var longest = (total: 0.0, events: 0.0, frame: 0.0)
            let settleStart = DispatchTime.now().uptimeNanoseconds
            while milliseconds(since: settleStart) < settleMilliseconds {
                let t = DispatchTime.now().uptimeNanoseconds
                let events = runner.drain()
                for e in events { ExplorerApp.step(&state, e, runner) }
                let reduced = milliseconds(since: t)
                let poolingDone = PooledViewCache.completed != pooled
                pooled = PooledViewCache.completed
                if !events.isEmpty || runner.busy || poolingDone { _ = Renderer.render(state) }
                let total = milliseconds(since: t)
                if total > longest.total { longest = (total, reduced, total - reduced) }
                usleep(5_000)
            }
            figures.append((label, frame, longest.total))
            print(
                String(
                    format: "key %-5@ %7.2f ms to the new frame   longest loop turn after it %7.2f ms "
                        + "(events %.2f, frame %.2f)", label, frame, longest.total, longest.events, longest.frame))
        }
        runner.run(.cancel)
        let worst = figures.map(\.1).max() ?? 0
        let worstTurn = figures.map(\.2).max() ?? 0
        let name = start.layer.map { "\($0.name) [\($0.row.shape.map(String.init).joined(separator: "x"))]" } ?? "?"
        print(
            String(
                format: "%@ at %dx%d: %d keys, slowest key %.2f ms, longest loop turn %.2f ms", name, start.width,
                start.height, figures.count, worst, worstTurn))
        return figures
    }
}
