// Fuzz entry points for the file readers. Built two ways:
//   libFuzzer (coverage-guided, with AddressSanitizer): scripts/fuzz.sh TARGET SECONDS — compiles this file
//       together with SpQRCore's sources (swiftc -sanitize=fuzzer,address -DSPQR_LIBFUZZER) and runs it
//   plain (replays inputs, part of the package): swift build --product spqr-fuzz && .build/debug/spqr-fuzz gguf FILE…
// Targets: safetensors, gguf, imatrix, npy, recipe. An input must be read or rejected with SpQRError.
// Checkpoints and arrays are read twice: whole and streamed (statistics) as given, then again after the
// file has been cut to half its length while open, which must give SpQRError (a short pread), never
// SIGBUS.

import Foundation

#if !SPQR_LIBFUZZER
    import SpQRCore
#endif

enum FuzzTarget: String, CaseIterable {
    case safetensors, gguf, imatrix, npy, recipe

    /// Reads `path` with the target's reader; every SpQRError is an accepted outcome.
    func exercise(_ path: String) {
        accept {
            switch self {
            case .safetensors:
                try Self.readTwice(try SafetensorsCheckpoint(path: path), path)
            case .gguf:
                try Self.readTwice(try GGUFCheckpoint(path: path), path)
            case .imatrix:
                let m = try ImportanceMatrixCalibration(path: path)
                for (name, v) in m.meanSquares where !v.isEmpty {
                    _ = try m.hessian(forLayer: name, inFeatures: v.count)
                }
            case .npy:
                let array = try NumpyArray(path: path)
                let activations = try ActivationsCalibration(path: path)
                _ = try array.matrix()
                Self.cut(path)
                accept { _ = try array.matrix() }
                accept { _ = try activations.hessian(forLayer: "x", inFeatures: array.cols) }
            case .recipe:
                _ = try Recipe.read(path: path)
            }
        }
    }

    /// Runs `body`; an SpQRError is an accepted outcome, any other error a finding.
    func accept(_ body: () throws -> Void) {
        do {
            try body()
        } catch is SpQRError {
        } catch {
            fatalError("\(rawValue): an error that is not SpQRError: \(error)")
        }
    }

    /// Reads every small quantizable tensor whole and streamed, cuts the file to half its length, and
    /// reads them again.
    static func readTwice(_ c: any Checkpoint, _ path: String) throws {
        let small = c.tensors.filter { $0.isQuantizable && $0.elementCount <= 1 << 20 }
        for t in small {
            _ = try c.matrix(t.name)
            _ = try c.statistics(t.name)
        }
        cut(path)
        for t in small {
            do { _ = try c.matrix(t.name) } catch is SpQRError {}
            do { _ = try c.statistics(t.name) } catch is SpQRError {}
        }
    }

    /// Truncates the file to half its length, as another process might while it is open.
    static func cut(_ path: String) {
        var st = stat()
        if stat(path, &st) == 0 { _ = truncate(path, st.st_size / 2) }
    }
}

/// Writes one input to a file the readers can map (in memory-backed /dev/shm when available).
func withInputFile(_ bytes: UnsafeRawBufferPointer, _ body: (String) -> Void) {
    let dir = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let path = "\(dir)/spqr-fuzz-\(getpid())"
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { return }
    if let base = bytes.baseAddress, bytes.count > 0 { _ = write(fd, base, bytes.count) }
    close(fd)
    body(path)
    unlink(path)
}

#if SPQR_LIBFUZZER
    let fuzzTarget: FuzzTarget = {
        guard let name = ProcessInfo.processInfo.environment["SPQR_FUZZ_TARGET"], let t = FuzzTarget(rawValue: name)
        else {
            fatalError("set SPQR_FUZZ_TARGET to one of \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return t
    }()

    @_cdecl("LLVMFuzzerTestOneInput")
    public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
        withInputFile(UnsafeRawBufferPointer(start: data, count: size)) { fuzzTarget.exercise($0) }
        return 0
    }
#else
    @main
    enum ReplayInputs {
        static func main() {
            let args = CommandLine.arguments.dropFirst()
            guard let name = args.first, let target = FuzzTarget(rawValue: name) else {
                FileHandle.standardError.write(
                    Data(
                        "usage: spqr-fuzz TARGET FILE… (targets: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")))\n"
                            .utf8))
                exit(2)
            }
            for file in args.dropFirst() {
                guard let data = FileManager.default.contents(atPath: file) else { continue }
                data.withUnsafeBytes { withInputFile($0) { target.exercise($0) } }
            }
            print("\(target.rawValue): \(args.count - 1) input(s) read or rejected cleanly")
        }
    }
#endif
