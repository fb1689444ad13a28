// explore --bench-keys: how long a key takes on the layer screen, from the key to the next frame (the
// reducer, then a full render, which pools the weights of a viewport not seen before). A fixed script of
// keys zooms in to the largest zoom, pans right and down across the matrix in steps of a quarter view,
// moves the cursor, and zooms out again; each key is timed alone (wall clock, and the CPU time of the
// process, which a busy machine does not inflate) and the figures are printed per kind.

import Dispatch
import Foundation

enum KeyBench {
    /// The script: (kind, key) in order.
    static func script(_ s: AppState) -> [(kind: String, key: Key)] {
        let g = Reducer.geometry(s)
        let zooms = g.map { Int(log2(Double($0.maxZoom))) } ?? 1
        var keys: [(String, Key)] = []
        keys += Array(repeating: ("zoom in", Key.char("+")), count: zooms)
        keys += Array(repeating: ("cursor", Key.char("l")), count: g?.area.width ?? 1)
        keys += Array(repeating: ("pan", Key.char("l")), count: 16)
        keys += Array(repeating: ("cursor", Key.char("j")), count: g?.area.height ?? 1)
        keys += Array(repeating: ("pan", Key.char("j")), count: 16)
        keys += Array(repeating: ("pan", Key.pageDown), count: 8)
        keys += Array(repeating: ("zoom out", Key.char("-")), count: zooms)
        return keys
    }

    /// CPU milliseconds the process has used (all threads).
    static func processCPU() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) * 1e3 + Double(t.tv_nsec) / 1e6
    }

    static func run(_ start: AppState) {
        var s = start
        _ = Renderer.render(s)
        var times: [String: [Double]] = [:]
        var order: [String] = []
        var cpu: [String: [Double]] = [:]
        var zooms: [String] = []
        for (kind, key) in script(s) {
            let c0 = processCPU()
            let t0 = DispatchTime.now().uptimeNanoseconds
            _ = Reducer.reduce(&s, .terminal(.key(key)))
            _ = Renderer.render(s)
            let ms = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e6
            if times[kind] == nil { order.append(kind) }
            times[kind, default: []].append(ms)
            cpu[kind, default: []].append(processCPU() - c0)
            if kind.hasPrefix("zoom") {
                zooms.append(
                    String(
                        format: "%@ to %d×: %.2f ms, CPU %.2f ms", kind, s.viewport.zoom, ms, cpu[kind]!.last!))
            }
        }
        let shape = s.layer?.row.shape.map(String.init).joined(separator: "x") ?? "?"
        print(
            "keys on \(s.layer?.name ?? "?") [\(shape)] at \(s.width)x\(s.height), key to frame (wall clock; CPU of all threads):"
        )
        for kind in order {
            let t = times[kind]!.sorted()
            let c = cpu[kind]!.sorted()
            print(
                "  " + kind.padding(toLength: 9, withPad: " ", startingAt: 0)
                    + String(
                        format: " %3d keys: median %.2f ms, max %.2f ms; CPU median %.2f ms, max %.2f ms", t.count,
                        t[t.count / 2], t.last!, c[c.count / 2], c.last!))
        }
        print("  each zoom: " + zooms.joined(separator: "; "))
    }
}
