// Snapshot tests: a rendered text compared with the file recorded beside the test, in `__Snapshots__/`.
// With SPQR_RECORD_SNAPSHOTS=1 the file is (re)written and the test FAILS, saying so: a run that records
// can never pass, so a suite cannot go green by rewriting its own expectations. Run again without the
// variable (and review the diff) to see it pass.

import Foundation
import Testing

/// The environment variable that switches snapshot tests to recording.
public let recordSnapshotsVariable = "SPQR_RECORD_SNAPSHOTS"

/// Compares `text` with the snapshot `name` in the `__Snapshots__` folder beside the calling test file
/// and records a failure at the caller on any difference (or when the snapshot is missing). In record
/// mode it writes the snapshot and records a failure.
public func assertSnapshot(
    _ text: String, named name: String, filePath: StaticString = #filePath,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    let directory = URL(fileURLWithPath: "\(filePath)").deletingLastPathComponent().appendingPathComponent(
        "__Snapshots__")
    let url = directory.appendingPathComponent(name)
    let rendered = text + "\n"
    if ProcessInfo.processInfo.environment[recordSnapshotsVariable] == "1" {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(rendered.utf8).write(to: url, options: .atomic)
            Issue.record(
                "recorded snapshot \(name); run the tests again without \(recordSnapshotsVariable) to check it",
                sourceLocation: sourceLocation)
        } catch {
            Issue.record("could not record snapshot \(name) at \(url.path): \(error)", sourceLocation: sourceLocation)
        }
        return
    }
    guard let data = FileManager.default.contents(atPath: url.path) else {
        Issue.record(
            "missing snapshot \(name); record it with \(recordSnapshotsVariable)=1 swift test",
            sourceLocation: sourceLocation)
        return
    }
    let expected = String(decoding: data, as: UTF8.self)
    if let difference = firstDifference(expected: expected, rendered: rendered) {
        Issue.record("snapshot \(name) differs from \(difference)", sourceLocation: sourceLocation)
    }
}

/// Where two texts first differ: the line number and both lines; nil when they are equal.
public func firstDifference(expected: String, rendered: String) -> String? {
    guard expected != rendered else { return nil }
    let a = expected.split(separator: "\n", omittingEmptySubsequences: false)
    let b = rendered.split(separator: "\n", omittingEmptySubsequences: false)
    let line = zip(a, b).enumerated().first { $0.element.0 != $0.element.1 }?.offset ?? min(a.count, b.count)
    return
        "line \(line + 1):\n  expected: \(line < a.count ? String(a[line]) : "<end>")\n  rendered: \(line < b.count ? String(b[line]) : "<end>")"
}
