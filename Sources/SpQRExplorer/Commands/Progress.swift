// Progress of long headless work on stderr: one line per step when stderr is a file or pipe, one line
// rewritten in place (and cleared at the end) on a terminal. Results stay on stdout.

import Foundation
import SpQRCore

/// A progress line for one piece of work.
final class StderrProgress: Sendable {
    private let label: String
    private let tty = isatty(STDERR_FILENO) == 1
    private let shown = Locked(false)

    init(_ label: String) { self.label = label }

    /// Step `index` (from 1) of `count`, with an optional detail.
    func step(_ index: Int, of count: Int, _ detail: String = "") {
        write("\(label): \(index)/\(count)\(detail.isEmpty ? "" : " \(detail)")")
    }

    /// A percentage, shown only on a terminal (files and pipes get the announcement alone).
    func percent(_ fraction: Double) {
        guard tty else { return }
        write("\(label): \(Int((100 * min(1, max(0, fraction))).rounded(.down)))%")
    }

    /// A phase name, shown only on a terminal.
    func phase(_ text: String) {
        guard tty else { return }
        write("\(label): \(text)")
    }

    /// A measurement's phase by name, and the share of the full layer done as a percentage; terminal only.
    func show(_ measurementPhase: MeasurementPhase, _ fraction: Double) {
        if measurementPhase == .fullLayer { percent(fraction) } else { phase(measurementPhase.rawValue) }
    }

    /// Clears the in-place line on a terminal, so results and notes start on a clean line.
    func finish() {
        if tty && shown.withLock({ $0 }) { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    private func write(_ text: String) {
        shown.withLock { shown in
            shown = true
            FileHandle.standardError.write(Data((tty ? "\r\u{1B}[K\(text)" : "\(text)\n").utf8))
        }
    }
}

/// A progress handler for `FileDigests`: says once how much will be hashed when it is more than 256 MiB,
/// then shows a percentage on a terminal.
func hashingProgress(_ purpose: String) -> (handler: @Sendable (Int, Int) -> Void, progress: StderrProgress) {
    let progress = StderrProgress("hashing")
    let announced = Locked(false)
    let handler: @Sendable (Int, Int) -> Void = { done, total in
        guard total > 256 << 20 else { return }
        let first = announced.withLock { said in
            defer { said = true }
            return !said
        }
        if first { printNotes(["hashing \(ReportFormat.bytes(total)) \(purpose)"]) }
        progress.percent(Double(done) / Double(total))
    }
    return (handler, progress)
}
