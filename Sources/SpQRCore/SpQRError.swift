// Errors SpQRCore reports. Every message says what is wrong, where, and what to do about it.

/// A problem with the input of a quantization run or a file, described for the person who supplied it.
public struct SpQRError: Error, CustomStringConvertible, Equatable, Sendable {
    /// What kind of problem this is, for callers that branch on it.
    public enum Kind: String, Sendable {
        case shapeMismatch, emptyMatrix, nonFinite, notPositiveDefinite, invalidSetting, unsupported
        case cancelled, fileFormat, io
        /// The input would need more memory than is available (see `MemoryBudget`).
        case tooLarge
    }

    public let kind: Kind
    /// The full human-readable message.
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }

    /// The run was cancelled by a newer request; not a failure of the input.
    public static let cancelled = SpQRError(.cancelled, "cancelled")
}
