// Temporary files of a test run: every scratch directory lives under one directory of the test process,
// removed when the process exits, so a run leaves nothing in the temporary directory however its tests
// end (a failed expectation skips a test's own clean-up).

import Foundation

/// The test process's scratch root, $TMPDIR/spqr-tests-PID, created on first use and removed at exit.
private let scratchRoot: String = {
    let root = NSTemporaryDirectory() + "spqr-tests-\(getpid())"
    try? FileManager.default.removeItem(atPath: root)
    try? FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    atexit { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "spqr-tests-\(getpid())") }
    return root
}()

/// A new empty directory under the process's scratch root, named `prefix` and a unique suffix.
public func scratchDirectory(_ prefix: String) throws -> String {
    let dir = scratchRoot + "/\(prefix)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A path under the process's scratch root for a file named `prefix`, a unique part and `suffix`.
public func scratchFile(_ prefix: String, suffix: String = "") -> String {
    scratchRoot + "/\(prefix)-\(UUID().uuidString)\(suffix)"
}
