// spqr-explorer: the entry point. Exit codes: 0 ok, 1 bad input, 2 usage. Errors go to stderr.

import ArgumentParser
import Foundation
import SpQRCore

struct SpQRExplorerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spqr-explorer",
        abstract: "Explore SpQR weight quantization of LLM layers: sensitivity, outliers, error, bits.",
        subcommands: [
            ExploreCommand.self, LayersCommand.self, QuantizeCommand.self, SweepCommand.self, RenderCommand.self,
            RecipeCommand.self,
            BenchCommand.self,
            TokenizeCommand.self, EvalCommand.self, CalibrateCommand.self, QuantizeModelCommand.self,
            AllocateCommand.self,
        ],
        defaultSubcommand: ExploreCommand.self)
}

/// Keeps large freed blocks in glibc's heap: every slider change allocates result maps the size of the
/// layer, and fresh mmap'd memory costs a page fault per 4 KiB page each time (glibc's mallopt,
/// looked up at run time because Swift's Glibc module does not export <malloc.h>).
func keepLargeBlocksInHeap() {
    typealias MallOpt = @convention(c) (Int32, Int32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
    let mallopt = unsafeBitCast(symbol, to: MallOpt.self)
    _ = mallopt(-3 /* M_MMAP_THRESHOLD */, 1 << 30)
    _ = mallopt(-1 /* M_TRIM_THRESHOLD */, Int32.max)
}

@main
enum Main {
    static func main() {
        keepLargeBlocksInHeap()
        // Past a file-size limit, write() should fail with EFBIG (reported, temporary file removed) rather
        // than the process being killed half-way through a file.
        signal(SIGXFSZ, SIG_IGN)
        do {
            var command = try SpQRExplorerCommand.parseAsRoot()
            try command.run()
        } catch let error as SpQRError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            Foundation.exit(1)
        } catch let error as SpQRExplorerError {
            FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
            Foundation.exit(1)
        } catch let error as ExitCode {
            Foundation.exit(error.rawValue)
        } catch {
            if SpQRExplorerCommand.exitCode(for: error) == .success { SpQRExplorerCommand.exit(withError: error) }
            FileHandle.standardError.write(Data((SpQRExplorerCommand.fullMessage(for: error) + "\n").utf8))
            Foundation.exit(2)
        }
    }
}
