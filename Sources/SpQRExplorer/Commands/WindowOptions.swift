// How calibration windows are cut from a text on the command line (`calibrate`, `quantize-model`): tokens
// per window, how windows are drawn, the seed, and the windows themselves with the notes they call for.

import ArgumentParser
import SpQRCore
import SpQRModel

extension WindowSampling: ExpressibleByArgument {}

struct WindowOptions: ParsableArguments {
    @Option(help: "Tokens per calibration window.")
    var seqlen = 256

    @Option(help: "How windows are drawn: first, even or random.")
    var sampling: WindowSampling = .even

    @Option(help: "Seed of --sampling random.")
    var seed: UInt64 = 0

    func validate() throws {
        guard seqlen >= 1 else { throw ValidationError("--seqlen must be at least 1") }
    }

    /// The UTF-8 text at `path`, tokenized by `model`'s tokenizer without special tokens (as calibration
    /// tokenizes), and up to `count` windows of it; the notes the windows call for are printed.
    func windows(ofText path: String, model: String, count: Int) throws -> (text: RunText, windows: [[Int]]) {
        let input = try RunText(path: path, model: model, specialTokens: false)
        let (windows, notes) = try self.windows(input, count: count)
        printNotes(notes)
        return (input, windows)
    }

    /// Up to `count` windows of `input` (refused when the text is shorter than one window), with a note when
    /// the text gives fewer than asked.
    func windows(_ input: RunText, count: Int) throws -> (windows: [[Int]], notes: [String]) {
        let windows = sampling.windows(input.tokens, seqlen: seqlen, count: count, seed: seed)
        guard !windows.isEmpty else {
            throw SpQRError(
                .invalidSetting,
                "\(input.path): \(input.tokens.count) tokens, fewer than one window of \(seqlen); use a longer text or a smaller --seqlen"
            )
        }
        let notes =
            windows.count < count
            ? ["the text gives \(windows.count) windows of \(seqlen) tokens without overlap; using all of them"] : []
        return (windows, notes)
    }
}
