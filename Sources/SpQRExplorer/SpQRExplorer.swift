// spqr-explorer: the entry point. Exit codes: 0 ok, 1 bad input, 2 usage. Errors go to stderr.

import ArgumentParser
import Foundation
import SpQRCore

struct SpQRExplorerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spqr-explorer",
        abstract: "Explore SpQR weight quantization of LLM layers: sensitivity, outliers, error, bits.",
        subcommands: [QuantizeCommand.self])
}

@main
enum Main {
    static func main() {
        do {
            var command = try SpQRExplorerCommand.parseAsRoot()
            try command.run()
        } catch let error as SpQRError {
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
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
