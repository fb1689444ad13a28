// The error the explorer itself reports (not one of the input files): no terminal, an unusable TERM.

/// An error of the explorer itself (not of the input files).
struct SpQRExplorerError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}
