// What the arithmetic of SpQR allows on this machine, measured on the spot, for `spqr-explorer bench`.
//
//     GPTQ loop floor      = out · in²           flops (the lazy block updates, Σ_b 2·out·B·(in − b − B))
//     factorisation floor  = in³ · 2/3           flops (spotrf in³/3 and strtri in³/3)
//     tr(W H Wᵀ) floor     = out · in²           flops (ssyrk of Wᵀ W)
//     floor (first run)    = GPTQ loop floor + factorisation floor
// each divided by the sgemm rate: every core running its own single-threaded 1024×2048×2048 sgemm at
// once (the way the GPTQ loop runs it), best of three. The reference engine's time comes from
// tools/bench_reference.py when a checkout of it is given.

import Dispatch
import Foundation
import SpQRCore

#if canImport(Glibc)
    import Glibc
#endif

/// The flops SpQR needs on one layer and their seconds at a measured sgemm rate.
struct BenchFloor {
    /// GFLOP/s of sgemm on all cores (wall clock), and per CPU second (what one core does while it runs).
    let gflops: Double
    let gflopsPerCPUSecond: Double
    let out: Int, n: Int

    var loopFlops: Double { Double(out) * Double(n) * Double(n) }
    var factorisationFlops: Double { Double(n) * Double(n) * Double(n) * 2 / 3 }
    var denominatorFlops: Double { Double(out) * Double(n) * Double(n) }

    /// Seconds of each floor.
    var loop: Double { loopFlops / gflops / 1e9 }
    var factorisation: Double { factorisationFlops / gflops / 1e9 }
    var denominator: Double { denominatorFlops / gflops / 1e9 }
    var firstRun: Double { loop + factorisation }

    /// CPU seconds of the floors: on a busy machine these hold where wall-clock seconds do not.
    func cpu(_ flops: Double) -> Double { flops / gflopsPerCPUSecond / 1e9 }

    /// GFLOP/s of single-threaded sgemm run on every core at once, best of `repeats`, by wall clock and
    /// per CPU second.
    static func measureRate(repeats: Int = 3) -> (wall: Double, cpu: Double) {
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let (m, n, k) = (1024, 2048, 2048)
        var a = [Float](repeating: 0, count: cores * m * k)
        var b = [Float](repeating: 0, count: cores * k * n)
        var c = [Float](repeating: 0, count: cores * m * n)
        for i in a.indices { a[i] = Float(i % 7) * 0.25 - 0.5 }
        for i in b.indices { b[i] = Float(i % 5) * 0.125 - 0.25 }
        var best = 0.0
        var bestCPU = 0.0
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    let A = UnsafeMutableSendable(UnsafeMutablePointer(mutating: ap.baseAddress!))
                    let B = UnsafeMutableSendable(UnsafeMutablePointer(mutating: bp.baseAddress!))
                    let C = UnsafeMutableSendable(cp.baseAddress!)
                    for _ in 0..<repeats {
                        var clock = Stopwatch()
                        let cpu0 = ProcessCPU.seconds()
                        DispatchQueue.concurrentPerform(iterations: cores) { t in
                            BLAS.sgemm(
                                m: m, n: n, k: k, alpha: 1, a: A.pointer + t * m * k, lda: k,
                                b: B.pointer + t * k * n, ldb: n, beta: 0, c: C.pointer + t * m * n, ldc: n)
                        }
                        let flops = 2 * Double(cores * m * n * k)
                        best = max(best, flops / clock.lap() / 1e9)
                        bestCPU = max(bestCPU, flops / (ProcessCPU.seconds() - cpu0) / 1e9)
                    }
                }
            }
        }
        return (best, bestCPU)
    }
}

/// CPU seconds of this process (user and system, all threads).
enum ProcessCPU {
    static func seconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        func s(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
        return s(usage.ru_utime) + s(usage.ru_stime)
    }
}

/// The reference engine timed on the same layer and settings (tools/bench_reference.py).
enum ReferenceBench {
    /// The script, found beside the sources this binary was built from.
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("tools/bench_reference.py").path

    /// Seconds the reference takes, or why it was not run.
    static func run(checkout: String?, weights: Matrix, hessian: Matrix, config: SpQRConfig) -> Result<
        Double, BenchSkip
    > {
        guard let checkout, !checkout.isEmpty else {
            return .failure(BenchSkip("no reference checkout given (--reference DIR or SPQR_REFERENCE)"))
        }
        guard FileManager.default.fileExists(atPath: checkout + "/spqr_engine.py") else {
            return .failure(BenchSkip("\(checkout) has no spqr_engine.py"))
        }
        guard FileManager.default.fileExists(atPath: script) else {
            return .failure(BenchSkip("\(script) is missing (the bench looks for it beside its sources)"))
        }
        let layer = NSTemporaryDirectory() + "spqr-bench-\(getpid()).safetensors"
        defer { try? FileManager.default.removeItem(atPath: layer) }
        do {
            try SafetensorsWriter.write(
                [
                    .f32("W", shape: [weights.rows, weights.cols], weights.values),
                    .f32("H", shape: [hessian.rows, hessian.cols], hessian.values),
                ], to: layer)
            let child = Process()
            child.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            child.arguments = ["python3", script, checkout, layer] + ReferenceCommand.flags(config, nsamples: nil)
            let pipe = Pipe()
            child.standardOutput = pipe
            try child.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            child.waitUntilExit()
            guard child.terminationStatus == 0,
                let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
                let seconds = json["seconds"] as? Double
            else { return .failure(BenchSkip("the reference run failed (exit \(child.terminationStatus))")) }
            return .success(seconds)
        } catch {
            return .failure(BenchSkip("the reference run failed: \(error)"))
        }
    }
}

/// Why a part of the bench did not run.
struct BenchSkip: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}
