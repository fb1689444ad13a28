// spqr-explorer bench: SpQR speed and memory on LLaMA-sized layers, one JSON line per case.
//
// Layers are generated with realistic statistics: heavy-tailed weights (a Gaussian over a random scale,
// like Student-t), calibration inputs with a shared component and a few loud input channels (as in the
// activation outliers of LLMs), H = 2XᵀX/n. GFLOP/s counts the GPTQ update, out·in² flops. Each line
// also has the floor (BenchFloor.swift: the flops SpQR needs at the sgemm rate measured in the same run),
// each phase over its floor, the share of the cores the process got (below 1 on a busy machine) and the
// reference engine's time when a checkout of it is given.

import ArgumentParser
import Dispatch
import Foundation
import SpQRCore

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Time SpQR on LLaMA-sized layers (release build) and print one JSON line per case.",
        discussion: """
            Examples:
              swift build -c release && .build/release/spqr-explorer bench
              .build/release/spqr-explorer bench --shapes 4096x4096 --repeat 3
              .build/release/spqr-explorer bench --shapes 8192x28672     # needs ~12 GB
              .build/release/spqr-explorer bench --dequant               # ggml dequantization speed per type

            Each line has the shape, the settings (the README 3-bit recipe unless flags
            say otherwise), the seconds of each phase, the floor (the flops SpQR needs at
            the sgemm rate measured in the same run) and each phase over it, the share of
            the cores the process got (cpu_share, below 1 on a busy machine), GFLOP/s of
            the GPTQ loop, the peak resident memory, and the reference engine's seconds on
            the same layer when --reference (or SPQR_REFERENCE) names a checkout of
            Vahe1994/SpQR.

            With --dequant, one line per ggml type: the best of --repeat decodes of a
            4096×11008 tensor of random blocks on all cores.
            """)

    @Option(help: "Comma-separated OUTxIN shapes.")
    var shapes = "4096x4096,11008x4096,4096x11008"

    @Option(help: "Full runs per case (the first includes the factorisation; later ones reuse it).")
    var `repeat` = 2

    @Option(help: "Calibration rows used to build H.")
    var samples = 1024

    @OptionGroup var settings: SettingsOptions

    @Flag(help: "Also time the baselines (round-to-nearest and GPTQ without outliers).")
    var baselines = false

    @Option(
        help: ArgumentHelp(
            "A checkout of the reference engine (Vahe1994/SpQR) to time on the same layer with python3 and torch.",
            valueName: "dir"))
    var reference: String? = ProcessInfo.processInfo.environment["SPQR_REFERENCE"]

    @Flag(help: "Time the dequantization of every ggml type GGUF files are read in, on a 4096×11008 tensor, instead.")
    var dequant = false

    func run() throws {
        if dequant {
            try DequantBench.run(out: 4096, in: 11008, repeats: max(`repeat`, 1))
            return
        }
        let config = try settings.apply(to: SpQRConfig())
        try config.validate()
        let list = shapes.split(separator: ",").map(String.init)
        var parsed: [(Int, Int)] = []
        for shape in list {
            let dims = shape.lowercased().split(separator: "x").compactMap { Int($0) }
            guard dims.count == 2, dims[0] > 0, dims[1] > 0 else {
                throw ValidationError("--shapes: '\(shape)' is not OUTxIN")
            }
            parsed.append((dims[0], dims[1]))
        }
        if parsed.count == 1 {
            try bench(out: parsed[0].0, in: parsed[0].1, config: config)
            return
        }
        // One process per shape, so that each peak-memory figure starts from a fresh heap.
        var arguments: [String] = []
        var skipNext = false
        for a in CommandLine.arguments.dropFirst() {
            if skipNext {
                skipNext = false
                continue
            }
            if a == "--shapes" {
                skipNext = true
                continue
            }
            if a.hasPrefix("--shapes=") { continue }
            arguments.append(a)
        }
        for shape in list {
            let child = Process()
            child.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
            child.arguments = arguments + ["--shapes", shape]
            try child.run()
            child.waitUntilExit()
            guard child.terminationStatus == 0 else { throw ExitCode(child.terminationStatus) }
        }
    }

    func bench(out: Int, in n: Int, config: SpQRConfig) throws {
        var clock = Stopwatch()
        let (w, h) = try BenchLayer.generate(out: out, in: n, samples: samples, seed: UInt64(out * 31 + n))
        let generation = clock.lap()
        let rateBefore = BenchFloor.measureRate()
        clock.lap()
        let cpuStart = ProcessCPU.seconds()
        let wall = Stopwatch()
        Memory.resetPeak()
        let baseRSS = Memory.residentBytes()
        let measurement = LayerMeasurement(name: "bench-\(out)x\(n)", weights: w, hessian: h)
        let full = try measurement.measure(config, steps: [.fullLayer]).result
        let firstRun = clock.lap()
        let firstRunCPU = ProcessCPU.seconds() - cpuStart
        let peak = Memory.peakResidentBytes()
        // The preparation the first run made and the later runs reuse.
        let layer = try measurement.prepare(for: config)
        var reruns: [Double] = []
        var rerunsCPU: [Double] = []
        for _ in 1..<max(`repeat`, 1) {
            let cpu0 = ProcessCPU.seconds()
            _ = try measurement.measure(config, steps: [.fullLayer])
            reruns.append(clock.lap())
            rerunsCPU.append(ProcessCPU.seconds() - cpu0)
        }
        var preview = try measurement.measure(config, steps: [.preview]).result
        _ = preview
        clock.lap()
        preview = try measurement.measure(config, steps: [.preview]).result
        let previewSeconds = clock.lap()
        let cpuShare =
            (ProcessCPU.seconds() - cpuStart)
            / (max(wall.total, 1e-9) * Double(ProcessInfo.processInfo.activeProcessorCount))
        var baselineSeconds: Double?
        if baselines {
            baselineSeconds = try measurement.measure(config, steps: [.fullLayer, .baselines]).phaseSeconds[.baselines]
        }
        let rateAfter = BenchFloor.measureRate()
        let floor = BenchFloor(
            gflops: max(rateBefore.wall, rateAfter.wall), gflopsPerCPUSecond: max(rateBefore.cpu, rateAfter.cpu),
            out: out, n: n)
        let inputBytes = Double(4 * (out * n + n * n))
        let t = full.timings
        let spqrFirstRun = layer.preparationSeconds + layer.factorisationSeconds + t.gptqLoop + t.figures
        var line: [String: Any] = [
            "shape": [out, n],
            "settings": (try? JSONSerialization.jsonObject(with: JSONEncoder().encode(config))) ?? [:],
            "threads": ProcessInfo.processInfo.activeProcessorCount,
            "seconds": [
                "generate_inputs": round3(generation),
                "preparation": round3(layer.preparationSeconds),
                "factorisation": round3(layer.factorisationSeconds),
                "gptq_loop": round3(t.gptqLoop),
                "group_fit_and_outliers_cpu": round3(t.outlierPass),
                "figures": round3(t.figures),
                "proxy_denominator_once": round3(layer.denominatorSeconds),
                "spqr_first_run": round3(spqrFirstRun),
                "full_first_run": round3(firstRun),
                "full_rerun_same_factor": reruns.map(round3),
                "preview": round3(previewSeconds),
            ],
            "sgemm_gflops": ["before": round3(rateBefore.wall), "after": round3(rateAfter.wall)],
            "sgemm_gflops_per_cpu_second": round3(floor.gflopsPerCPUSecond),
            "cpu_seconds": ["full_first_run": round3(firstRunCPU), "full_rerun_same_factor": rerunsCPU.map(round3)],
            // CPU time over the CPU time of the floor's flops (tr(W H Wᵀ) included in the first run's).
            "over_floor_cpu": [
                "full_first_run": round3(
                    firstRunCPU / floor.cpu(floor.loopFlops + floor.factorisationFlops + floor.denominatorFlops)),
                "full_rerun_same_factor": rerunsCPU.map { round3($0 / floor.cpu(floor.loopFlops)) },
            ],
            "floor_seconds": [
                "first_run": round3(floor.firstRun), "gptq_loop": round3(floor.loop),
                "factorisation": round3(floor.factorisation), "proxy_denominator": round3(floor.denominator),
            ],
            "over_floor": [
                "spqr_first_run": round3(spqrFirstRun / floor.firstRun),
                "factorisation": round3(layer.factorisationSeconds / floor.factorisation),
                "gptq_loop": round3(t.gptqLoop / floor.loop),
                "full_rerun_same_factor": reruns.map { round3($0 / floor.loop) },
                "proxy_denominator_once": round3(layer.denominatorSeconds / floor.denominator),
            ],
            "cpu_share": round3(cpuShare),
            "preview_rows": preview.rowIndices.count,
            "gflops_gptq_loop": round3(floor.loopFlops / t.gptqLoop / 1e9),
            "n_outliers": full.figures.nOutliers,
            "rel_proxy_error": full.figures.relProxyError,
            "peak_rss_mb": round3(Double(peak) / 1_048_576),
            "run_peak_extra_mb": round3(Double(peak - baseRSS) / 1_048_576),
            "run_peak_extra_over_w_plus_h": round3(Double(peak - baseRSS) / inputBytes),
        ]
        if let b = baselineSeconds { line["baselines_seconds"] = round3(b) }
        switch ReferenceBench.run(checkout: reference, weights: w, hessian: h, config: config) {
        case .success(let seconds):
            line["reference_seconds"] = round3(seconds)
            line["reference_over_spqr_first_run"] = round3(seconds / spqrFirstRun)
        case .failure(let skip): line["reference_skipped"] = skip.reason
        }
        let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
        fflush(nil)
    }

    func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
}

/// Dequantization speed of each ggml type on random blocks (every bit pattern is a valid block; NaN or
/// infinite scales among them cost the same as finite ones).
enum DequantBench {
    static func run(out: Int, in n: Int, repeats: Int) throws {
        for type in GGMLType.supported {
            let count = out * n
            let bytes = count / type.blockSize * type.bytesPerBlock
            var g = SeededRandom(seed: UInt64(type.rawValue) + 1)
            var raw = [UInt8](repeating: 0, count: bytes)
            raw.withUnsafeMutableBytes { r in
                for i in stride(from: 0, to: bytes - 7, by: 8) {
                    r.storeBytes(of: g.next(), toByteOffset: i, as: UInt64.self)
                }
            }
            var best = Double.infinity
            for _ in 0..<repeats {
                var clock = Stopwatch()
                let values = try raw.withUnsafeBytes { try type.dequantize($0, count: count) }
                best = min(best, clock.lap())
                precondition(values.count == count)
            }
            let line: [String: Any] = [
                "dequant": type.name, "shape": [out, n], "bits_per_weight": type.bitsPerWeight,
                "threads": ProcessInfo.processInfo.activeProcessorCount, "seconds": (best * 1e4).rounded() / 1e4,
                "gweights_per_s": (Double(count) / best / 1e7).rounded() / 100,
            ]
            let data = try JSONSerialization.data(withJSONObject: line, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
            fflush(nil)
        }
    }
}

/// Generated layers with LLM-like statistics.
enum BenchLayer {
    static func generate(out: Int, in n: Int, samples: Int, seed: UInt64) throws -> (Matrix, Matrix) {
        let w = Matrix(rows: out, cols: n, values: heavyTailed(count: out * n, scale: 0.02, seed: seed))
        var x = heavyTailed(count: samples * n, scale: 1, seed: seed ^ 0x5_DEEC_E66D)
        var loud = [Float](repeating: 1, count: n)
        var g = SeededRandom(seed: seed ^ 0xABCDEF)
        for _ in 0..<max(1, n / 512) { loud[Int(g.next() % UInt64(n))] = 20 }
        let common = heavyTailed(count: samples, scale: 0.5, seed: seed ^ 0x1234)
        for r in 0..<samples { for c in 0..<n { x[r * n + c] = loud[c] * (x[r * n + c] + common[r]) } }
        return (w, try Hessian.fromActivations(Matrix(rows: samples, cols: n, values: x)))
    }

    /// Gaussian over a random scale (heavy tails), generated in parallel chunks.
    static func heavyTailed(count: Int, scale: Float, seed: UInt64) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        let chunk = 1 << 20
        out.withUnsafeMutableBufferPointer { buf in
            let base = UnsafeMutableSendable(buf.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: (count + chunk - 1) / chunk) { k in
                var g = SeededRandom(seed: seed &+ UInt64(k) &* 0x9E37_79B9_7F4A_7C15)
                for i in (k * chunk)..<min((k + 1) * chunk, count) {
                    let a = g.gaussian()
                    let b = g.gaussian()
                    base.pointer[i] = scale * a / max(0.3, abs(b))
                }
            }
        }
        return out
    }
}

struct UnsafeMutableSendable: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ p: UnsafeMutablePointer<Float>) { pointer = p }
}

struct Stopwatch {
    private let start = DispatchTime.now().uptimeNanoseconds
    private var last = DispatchTime.now().uptimeNanoseconds
    /// Seconds since the stopwatch started.
    var total: Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }
    @discardableResult mutating func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now - last) / 1e9
    }
}

/// Resident memory from /proc (Linux).
enum Memory {
    static func status(_ key: String) -> Int {
        guard let s = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in s.split(separator: "\n") where line.hasPrefix(key + ":") {
            let kb = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kb * 1024
        }
        return 0
    }
    static func residentBytes() -> Int { status("VmRSS") }
    static func peakResidentBytes() -> Int { status("VmHWM") }
    /// Resets the peak (VmHWM) to the current resident size (Linux ≥ 4.0).
    static func resetPeak() { try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8) }
}
