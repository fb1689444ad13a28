// Runs the built spqr-explorer binary for command-line tests.

import Foundation

struct BinaryRun {
    let status: Int32
    let stdout: String
    let stderr: String
}

enum BinaryRunner {
    /// The package root (three levels above this file).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The debug binary SwiftPM builds before the tests.
    static var binary: String { packageRoot.appendingPathComponent(".build/debug/spqr-explorer").path }

    /// ../shared/vectors beside the checkout (or $SPQR_VECTORS).
    static var vectors: String {
        ProcessInfo.processInfo.environment["SPQR_VECTORS"]
            ?? packageRoot.deletingLastPathComponent().appendingPathComponent("shared/vectors").path
    }

    /// Runs the binary with `arguments`, no standard input.
    static func run(_ arguments: [String]) throws -> BinaryRun {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw CocoaError(
                .fileNoSuchFile,
                userInfo: [NSLocalizedDescriptionKey: "\(binary) is missing; run `swift build` before the tests"])
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return BinaryRun(
            status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
            stderr: String(decoding: e, as: UTF8.self))
    }
}
