// `eval --bench`: this runtime's tokens/s beside transformers' on the same windows when Python has torch
// (tools/bench_transformers.py), else beside the arithmetic floor from the measured sgemm rate.

import Foundation
import SpQRCore
import SpQRModel

struct EvalBench: Encodable {
    var tokens_per_s: Double
    var sgemm_gflops: Double
    var floor_tokens_per_s: Double
    var transformers_tokens_per_s: Double?
    var transformers_note: String?

    var rows: [[String]] {
        var r = [
            ["this runtime", String(format: "%.0f tokens/s (forward and scoring of up to 4 windows)", tokens_per_s)],
            ["sgemm (all cores)", String(format: "%.1f GFLOP/s", sgemm_gflops)],
            ["arithmetic floor", String(format: "%.0f tokens/s", floor_tokens_per_s)],
        ]
        if let t = transformers_tokens_per_s {
            r.append(["transformers", String(format: "%.0f tokens/s (this runtime: %.2f×)", t, tokens_per_s / t)])
        } else if let n = transformers_note {
            r.append(["transformers", n])
        }
        return r
    }

    /// Times the forward pass on up to 4 windows, the sgemm rate, and transformers on the same windows.
    static func measure(_ decoder: Decoder, model: String, windows all: [[Int]]) throws -> EvalBench {
        let windows = Array(all.prefix(4))
        let seqlen = windows[0].count
        let start = Date()
        _ = try Perplexity.evaluate(decoder, windows: windows)
        let tps = Double(windows.count * seqlen) / Date().timeIntervalSince(start)
        let rate = Throughput.sgemmRate()
        var bench = EvalBench(
            tokens_per_s: tps, sgemm_gflops: rate / 1e9,
            floor_tokens_per_s: rate / Throughput.flopsPerToken(decoder.config, seqlen: seqlen))
        // The script of the working copy the command runs from, else of the tree it was built from.
        let candidates = [
            FileManager.default.currentDirectoryPath + "/tools/bench_transformers.py",
            URL(fileURLWithPath: #filePath).appendingPathComponent("../../../../tools/bench_transformers.py")
                .standardized.path,
        ]
        guard let script = candidates.first(where: FileManager.default.fileExists(atPath:)) else {
            bench.transformers_note =
                "not measured: tools/bench_transformers.py is not in \(candidates.joined(separator: " or "))"
            return bench
        }
        let file = NSTemporaryDirectory() + "spqr-bench-windows-\(getpid()).json"
        defer { unlink(file) }
        try JSONSerialization.data(withJSONObject: windows).write(to: URL(fileURLWithPath: file))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", script, model, file, "--threads", "\(ProcessInfo.processInfo.activeProcessorCount)"]
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        if p.terminationStatus == 0, let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last,
            let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let t = obj["tokens_per_s"] as? Double
        {
            bench.transformers_tokens_per_s = t
        } else {
            let reason =
                String(decoding: errors, as: UTF8.self).split(separator: "\n").last.map(String.init)
                ?? "exit \(p.terminationStatus)"
            bench.transformers_note = "not measured (python3 with torch and transformers is needed): \(reason)"
        }
        return bench
    }
}
