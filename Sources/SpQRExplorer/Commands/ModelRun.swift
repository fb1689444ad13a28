// What `eval` and `calibrate` share: the text and its tokens (by the model's own tokenizer), its SHA-256,
// Ctrl-C as a clean stop, and progress with an ETA on stderr.

import Dispatch
import Foundation
import SpQRCore
import SpQRModel

/// A text file read for a whole-model run.
struct RunText {
    let path: String
    let sha256: String
    let tokens: [Int]
    let data: Data

    /// Reads `path` (UTF-8; invalid bytes become U+FFFD, as Python's errors="replace") and tokenizes it with the
    /// tokenizer of `model`. `specialTokens: false` drops the BOS the tokenizer adds (Hugging Face
    /// `add_special_tokens=False`, as calibration tokenizes).
    init(path: String, model: String, specialTokens: Bool) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpQRError(.io, "\(path): cannot read the text file; check the path and permissions")
        }
        self.path = path
        self.data = data
        var digest = SpQRCore.SHA256()
        digest.update(data)
        sha256 = digest.hexDigest()
        let tokenizer = try Tokenizers.load(model: model)
        let progress = StderrProgress("tokenizing")
        progress.phase("\(ReportFormat.bytes(data.count)) of text")
        var ids = tokenizer.encode(String(decoding: data, as: UTF8.self))
        progress.finish()
        if !specialTokens, let bos = tokenizer.bosTokenID, ids.first == bos { ids.removeFirst() }
        tokens = ids
    }
}

/// Lines of at least 40 characters (after trimming) that `evaluation` shares with `calibration`, as a note
/// when there are any: evaluation and calibration texts must not overlap.
func overlapNote(evaluation: Data, calibration: Data, calibrationPath: String) -> String? {
    func lines(_ d: Data) -> [Substring] {
        String(decoding: d, as: UTF8.self).split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces)[...] }.filter { $0.count >= 40 }
    }
    let known = Set(lines(calibration))
    let evaluated = lines(evaluation)
    let shared = evaluated.filter(known.contains).count
    guard shared > 0 else { return nil }
    let share = String(format: "%.2f%%", 100 * Double(shared) / Double(evaluated.count))
    return
        "the evaluation text shares \(shared) of its \(evaluated.count) lines of 40+ characters (\(share)) with the calibration text \(calibrationPath); held-out figures need texts that do not overlap"
}

/// Ctrl-C (and SIGTERM) cancel `token` instead of killing the process, for the duration of a run.
final class InterruptCancels {
    let token = CancellationToken()
    private var sources: [DispatchSourceSignal] = []

    init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            let token = self.token
            source.setEventHandler { token.cancel() }
            source.resume()
            sources.append(source)
        }
    }

    deinit {
        for s in sources { s.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}

/// Steps with the elapsed time and an ETA from the mean time per step so far.
struct ETAProgress {
    let progress: StderrProgress
    let start = Date()

    init(_ label: String) { progress = StderrProgress(label) }

    /// `done` of `total` (fractional `done` shows as a percentage of the current step, on a terminal only).
    func step(_ done: Double, of total: Int, _ unit: String) {
        if isatty(STDERR_FILENO) != 1 && done.rounded(.down) != done { return }
        let elapsed = Date().timeIntervalSince(start)
        let eta = done > 0 ? elapsed / done * (Double(total) - done) : 0
        let partial =
            done.rounded(.down) == done
            ? "" : String(format: " (%.0f%% of the next)", 100 * (done - done.rounded(.down)))
        progress.step(
            Int(done), of: total,
            "\(unit)\(partial), \(Self.duration(elapsed)) elapsed, ETA \(done > 0 ? Self.duration(eta) : "…")")
    }

    static func duration(_ s: Double) -> String {
        s < 120 ? String(format: "%.0f s", s) : String(format: "%dm%02ds", Int(s) / 60, Int(s) % 60)
    }
}

/// The peak resident memory, for the end of a run.
func peakMemoryNote() -> String { "peak memory \(ReportFormat.bytes(Memory.peakResidentBytes()))" }
