// Key latency on the input loop: each key of the layer view is reduced and the next frame rendered, as
// the explorer's loop does, while the effects it asks for run in the background on a real EffectRunner
// (quantization of the layer, the trade-off grid). Printed per key: the time from the key to the new frame,
// and the longest turn of the loop (events drained, reduced, frame rendered) in the following 150 ms, which
// is how long a key pressed then would wait, and, when the key needs a view of the heatmap that is not
// pooled yet (a zoom, a pan, a mode), the time until that view is pooled and drawn. Each figure is wall-clock time and, in brackets, the input
// loop thread's own CPU time: the part the code costs, apart from waiting for a core on a loaded machine.

import Dispatch
import Foundation
import SpQRCore

enum KeyLatencyBench {
    /// The keys, in the order pressed: zoom and pan first, while no quantization runs (zoom in twice, a page
    /// down and right at each zoom, back out), then every setting slider both ways, outliers off and on, the
    /// cursor, zoom again while the layer is re-measured, modes, pooling, range, the advanced panel, the
    /// trade-off view and the help.
    static let keys: [(label: String, key: Key)] =
        [
            ("+", .char("+")), ("PgDn", .pageDown), ("+", .char("+")), ("PgDn", .pageDown), ("-", .char("-")),
            ("-", .char("-")),
        ]
        + [
            "w", "W", "g", "G", "t", "T", "x", "x", "+", "-", "0", "1", "3", "5", "2", "c", "r", "r", "a", "<", ">",
            "a",
        ]
        .map { ($0, Key.char(Character($0))) }
        + [
            ("→", .right), ("↓", .down), ("PgDn", .pageDown), ("f", .char("f")), ("→", .right), ("f", .char("f")),
            ("?", .char("?")), ("PgDn", .pageDown), ("Esc", .escape),
        ]

    static func milliseconds(since t: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - t) / 1e6 }

    /// The calling thread's CPU time in ms.
    static func threadCPU() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) * 1e3 + Double(t.tv_nsec) / 1e6
    }

    /// Presses every key of `keys` on `state` (a layer screen) with `runner` doing the background work;
    /// prints one line per key and a summary, and returns the (key, frame, longest turn) figures in ms.
    @discardableResult
    static func run(_ start: AppState, runner: EffectRunner, settleMilliseconds: Double = 150) -> [(
        String, Double, Double
    )] {
        var state = start
        // The first frame asks for the whole layer's view; the keys start once it is drawn.
        let opened = DispatchTime.now().uptimeNanoseconds
        _ = Renderer.render(state)
        while PooledViewCache.pooling && milliseconds(since: opened) < 10_000 { usleep(200) }
        _ = Renderer.render(state)
        print(String(format: "first heatmap drawn %.2f ms after the layer view opened", milliseconds(since: opened)))
        var pooled = PooledViewCache.completed
        var figures: [(String, Double, Double)] = []
        var cpu: [(Double, Double)] = []
        var heatmaps: [Double] = []
        for (label, key) in keys {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let c0 = threadCPU()
            ExplorerApp.step(&state, .terminal(.key(key)), runner)
            _ = Renderer.render(state)
            let frame = milliseconds(since: t0)
            let frameCPU = threadCPU() - c0
            // The heatmap the key asked for: pooled in the background, then drawn by the next turn.
            var drawn = frame
            if PooledViewCache.pooling {
                while PooledViewCache.pooling && milliseconds(since: t0) < 10_000 { usleep(200) }
                _ = Renderer.render(state)
                drawn = milliseconds(since: t0)
            }
            var longest = (total: 0.0, cpu: 0.0)
            let settleStart = DispatchTime.now().uptimeNanoseconds
            while milliseconds(since: settleStart) < settleMilliseconds {
                let t = DispatchTime.now().uptimeNanoseconds
                let c = threadCPU()
                let events = runner.drain()
                for e in events { ExplorerApp.step(&state, e, runner) }
                let poolingDone = PooledViewCache.completed != pooled
                pooled = PooledViewCache.completed
                if !events.isEmpty || runner.busy || poolingDone { _ = Renderer.render(state) }
                let total = milliseconds(since: t)
                if total > longest.total { longest = (total, threadCPU() - c) }
                usleep(5_000)
            }
            figures.append((label, frame, longest.total))
            cpu.append((frameCPU, longest.cpu))
            heatmaps.append(drawn)
            print(
                String(
                    format:
                        "key %-5@ %7.2f ms (cpu %5.2f) to the new frame   heatmap drawn %7.2f ms   longest loop turn after it %7.2f ms (cpu %5.2f)",
                    label, frame, frameCPU, drawn, longest.total, longest.cpu))
            fflush(nil)
        }
        runner.run(.cancel)
        // The process must not end while the work queue is in a BLAS call.
        let stop = DispatchTime.now().uptimeNanoseconds
        while runner.busy && milliseconds(since: stop) < 60_000 { usleep(10_000) }
        let worst = figures.map(\.1).max() ?? 0
        let worstTurn = figures.map(\.2).max() ?? 0
        let name = start.layer.map { "\($0.name) [\($0.row.shape.map(String.init).joined(separator: "x"))]" } ?? "?"
        print(
            String(
                format:
                    "%@ at %dx%d: %d keys, slowest key %.2f ms (cpu %.2f), slowest heatmap %.2f ms, longest loop turn %.2f ms (cpu %.2f)",
                name, start.width, start.height, figures.count, worst, cpu.map(\.0).max() ?? 0, heatmaps.max() ?? 0,
                worstTurn, cpu.map(\.1).max() ?? 0))
        fflush(nil)
        return figures
    }
}
