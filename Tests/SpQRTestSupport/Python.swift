// Running python3 from tests, for comparisons with gguf-py and transformers where they are installed (the
// tests that need them are enabled only then).

import Foundation
import SpQRCore

/// python3, for checks against gguf-py and transformers where they are installed.
public enum Python {
    /// Whether `python3 -c "import <modules>"` succeeds.
    public static func has(_ modules: String) -> Bool { (try? run("import \(modules)")) != nil }

    /// The standard output of `python3 -c script arguments…`; an error with its standard error when it fails.
    public static func run(_ script: String, _ arguments: String...) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script] + arguments
        let (out, err) = (Pipe(), Pipe())
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let output = out.fileHandleForReading.readDataToEndOfFile()
        let error = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw SpQRError(.io, "python3 failed: \(String(decoding: error, as: UTF8.self))")
        }
        return String(decoding: output, as: UTF8.self)
    }
}
