// `spqr-explorer quantize` end to end: reference flag spellings, JSON figures, the saved file, errors.

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore

@Suite("quantize command")
struct QuantizeCommandTests {
    static var file: String { "\(BinaryRunner.vectors)/synthetic-a.safetensors" }

    /// The README 3-bit recipe as the reference spells it.
    static let referenceFlags = [
        "--wbits", "3", "--groupsize", "16", "--perchannel", "--qq_scale_bits", "3",
        "--qq_zero_bits", "3", "--qq_groupsize", "16", "--outlier_threshold=0.2",
        "--permutation_order", "act_order", "--percdamp", "1e0", "--nsamples", "128",
    ]

    @Test("a pasted reference command line gives the reference figures as JSON")
    func referenceFlagsJSON() throws {
        let r = try BinaryRunner.run(
            [
                "quantize", "--weights", Self.file, "--tensor", "W", "--hessian", Self.file,
                "--hessian-tensor", "H", "--json",
            ] + Self.referenceFlags)
        #expect(r.status == 0, "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        for key in [
            "n_outliers", "outlier_fraction", "avg_bits", "storage_bits", "rel_weight_error", "rel_proxy_error",
            "tau", "sensitivity_concentration", "error_concentration", "rtn", "gptq", "seconds",
        ] {
            #expect(json[key] != nil, "missing \(key)")
        }
        // synthetic-a / llama3 in the reference vectors: 243 outliers, 4.57421875 bits, proxy error 0.0039639518549.
        #expect(json["n_outliers"] as? Int == 243)
        #expect(abs((json["avg_bits"] as? Double ?? 0) - 4.57421875) < 1e-9)
        #expect(isClose(json["rel_proxy_error"] as? Double ?? 0, 0.0039639518549, relative: 1e-4))
        let rtn = try #require(json["rtn"] as? [String: Any])
        let gptq = try #require(json["gptq"] as? [String: Any])
        #expect((rtn["rel_proxy_error"] as? Double ?? 0) > (gptq["rel_proxy_error"] as? Double ?? 1))
        // The equal-bit baselines: settings under the reference flag names, the figures, within SpQR's bits,
        // and no worse than the same-settings ones (which are within the budget too).
        for (key, same) in [("rtn_at_bits", rtn), ("gptq_at_bits", gptq)] {
            let b = try #require(json[key] as? [String: Any], "missing \(key)")
            let settings = try #require(b["settings"] as? [String: Any])
            #expect(Set(settings.keys) == Set(Setting.all.map(\.name)))
            #expect(settings["outlier_threshold"] as? String == "inf")
            for figure in ["avg_bits", "storage_bits", "rel_weight_error", "rel_proxy_error", "error_concentration"] {
                #expect(b[figure] != nil, "\(key).\(figure)")
            }
            #expect((b["avg_bits"] as? Double ?? 99) <= 4.57421875)
            #expect((b["rel_proxy_error"] as? Double ?? 1) <= (same["rel_proxy_error"] as? Double ?? 0))
        }
        let table = try BinaryRunner.run(
            [
                "quantize", "--weights", Self.file, "--tensor", "W", "--hessian", Self.file,
                "--hessian-tensor", "H",
            ] + Self.referenceFlags)
        #expect(
            table.stdout.contains("avg bits") && table.stdout.contains("GPTQ ≤ SpQR bits")
                && table.stdout.contains("round-to-nearest ≤ SpQR bits: wbits "))
        // The SpQR figures come first (printed before the baselines run), and stderr says where the time went.
        let figuresEnd = try #require(table.stdout.range(of: "dead columns"))
        let baselinesStart = try #require(table.stdout.range(of: "round-to-nearest"))
        #expect(figuresEnd.upperBound < baselinesStart.lowerBound)
        for phase in [
            "note: time: loading W and H ", "factorising ", "full layer ", "equal-bit baselines ", "whole process ",
        ] {
            #expect(table.stderr.contains(phase), "\(table.stderr)")
        }
    }

    @Test("kebab-case flags are the same settings")
    func kebabCase() throws {
        let kebab = [
            "--wbits", "3", "--groupsize", "16", "--qq-scale-bits", "3", "--qq-zero-bits", "3", "--qq-groupsize", "16",
            "--outlier-threshold", "0.2", "--permutation-order", "act_order", "--percdamp", "1",
        ]
        let a = try BinaryRunner.run(
            [
                "quantize", "--weights", Self.file, "--tensor", "W", "--hessian", Self.file,
                "--hessian-tensor", "H", "--json", "--no-baselines",
            ] + kebab)
        #expect(a.status == 0, "\(a.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(a.stdout.utf8)) as? [String: Any])
        #expect(json["n_outliers"] as? Int == 243)
    }

    @Test("--save writes Q (F32) and outliers (U8) that match the run")
    func save() throws {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent(
            "spqr-save-\(UUID().uuidString).safetensors"
        ).path
        defer { try? FileManager.default.removeItem(atPath: out) }
        let r = try BinaryRunner.run(
            [
                "quantize", "--weights", Self.file, "--tensor", "W", "--hessian", Self.file,
                "--hessian-tensor", "H", "--no-baselines", "--save", out,
            ] + Self.referenceFlags)
        #expect(r.status == 0, "\(r.stderr)")
        let saved = try SafetensorsFile(path: out)
        let q = try saved.matrix("Q")
        let mask = try saved.integers("outliers")
        #expect(try saved.info("Q").dtypeName == "F32" && saved.info("outliers").dtypeName == "U8")
        #expect(q.rows == 64 && q.cols == 128)
        #expect(mask.reduce(0, +) == 243)
        let reference = try SafetensorsFile(path: Self.file)
        #expect(try reference.integers("llama3.outliers") == mask)
    }

    @Test("bad input exits 1 with a specific message; usage errors exit 2")
    func errors() throws {
        let missing = try BinaryRunner.run(["quantize", "--weights", "/nonexistent.safetensors", "--tensor", "W"])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("/nonexistent.safetensors: no such file or directory"))
        let badTensor = try BinaryRunner.run(["quantize", "--weights", Self.file, "--tensor", "nope"])
        #expect(badTensor.status == 1)
        #expect(badTensor.stderr.contains("no tensor named \"nope\""))
        let badBits = try BinaryRunner.run(["quantize", "--weights", Self.file, "--tensor", "W", "--wbits", "9"])
        #expect(badBits.status == 1)
        #expect(badBits.stderr.contains("wbits must be between 1 and 8, got 9"))
        let usage = try BinaryRunner.run(["quantize", "--weights", Self.file])
        #expect(usage.status == 2)
        #expect(usage.stderr.contains("--layer"))
        let badThreshold = try BinaryRunner.run([
            "quantize", "--weights", Self.file, "--tensor", "W", "--outlier_threshold", "lots",
        ])
        #expect(badThreshold.status == 2)
        #expect(badThreshold.stderr.contains("--outlier_threshold takes a number or 'inf', got 'lots'"))
    }

    @Test("a write that fails (file-size limit) leaves the old file intact and no temporary file")
    func failedWriteKeepsOldFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spqr-full-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("q.safetensors").path
        try Data("previous contents".utf8).write(to: URL(fileURLWithPath: out))
        let script =
            "ulimit -f 8; exec \"\(BinaryRunner.binary)\" quantize --weights \"\(Self.file)\" --tensor W --no-baselines --force --save \"\(out)\""
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["-c", script]
        let err = Pipe()
        p.standardError = err
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        let message = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 1)
        #expect(
            message.contains("\(out): could not write (File too large); the previous file, if any, is unchanged"),
            "\(message)")
        #expect(try String(contentsOfFile: out, encoding: .utf8) == "previous contents")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["q.safetensors"])
    }

    @Test("writing into a read-only place is refused with the reason, and nothing is left behind")
    func readOnlyTarget() throws {
        // /proc is read-only even for root, unlike a chmod-ed directory.
        let r = try BinaryRunner.run([
            "quantize", "--weights", Self.file, "--tensor", "W", "--no-baselines", "--save", "/proc/spqr-q.safetensors",
        ])
        #expect(r.status == 1)
        #expect(r.stderr.contains("/proc/spqr-q.safetensors: cannot create a file in /proc"), "\(r.stderr)")
        #expect(r.stderr.contains("choose a writable directory"))
    }

    @Test("without calibration the run is data-free and says so")
    func dataFree() throws {
        let r = try BinaryRunner.run(["quantize", "--weights", Self.file, "--tensor", "W", "--no-baselines"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("none: data-free (H = I)"))
        #expect(r.stdout.contains("rel proxy error (data-free, H = I)"), "\(r.stdout)")
        #expect(r.stderr.contains("note: no calibration data"))
        #expect(!r.stdout.contains("warning"), "the default settings stay under fp16")
    }

    @Test("settings that make the layer bigger than fp16 are warned about, in the table and in JSON")
    func biggerThanFP16() throws {
        let flags = ["quantize", "--weights", Self.file, "--tensor", "W", "--no-baselines", "--outlier_threshold", "0"]
        let json = try BinaryRunner.run(flags + ["--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let o = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        let bits = try #require(o["storage_bits_per_weight"] as? Double)
        #expect(bits > 16)
        let warning = try #require(o["size_warning"] as? String)
        #expect(warning.hasPrefix("bigger than fp16: \(String(format: "%.1f", bits)) bits per weight"), "\(warning)")
        let table = try BinaryRunner.run(flags)
        #expect(table.stdout.contains("warning") && table.stdout.contains(warning), "\(table.stdout)")
        let plain = try BinaryRunner.run([
            "quantize", "--weights", Self.file, "--tensor", "W", "--no-baselines", "--json",
        ])
        let p = try #require(try JSONSerialization.jsonObject(with: Data(plain.stdout.utf8)) as? [String: Any])
        #expect(p["size_warning"] == nil)
    }
}
