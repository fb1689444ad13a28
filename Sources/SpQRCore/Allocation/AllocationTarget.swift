// What a bit allocation must meet, over the quantized layers i (n_i weights, b_i average bits, s_i storage
// bits, e_i error at the chosen setting):
//
//     average bits   Σ n_i·b_i / Σ n_i ≤ B                      minimise Σ e_i
//     total bytes    ⌈Σ s_i / 8⌉ + 2·kept ≤ N   (ModelSize)      minimise Σ e_i
//     maximum error  Σ e_i ≤ E                                   minimise Σ n_i·b_i (the average bits)
//
// Sizes are written as a number of bytes with an optional unit: kB, MB, GB, TB are powers of 1000 (what
// drive and GPU makers print: "24GB"), KiB, MiB, GiB, TiB powers of 1024.

import Foundation

/// The target of a bit allocation.
public enum AllocationTarget: Sendable, Equatable, CustomStringConvertible {
    /// Average reference bits per weight over the quantized layers, at most this.
    case averageBits(Double)
    /// Bytes of the whole model in SpQR storage with kept tensors at fp16 (ModelSize.spqrBytes), at most this.
    case totalBytes(Int)
    /// Σ of the layers' errors (the error weight in use), at most this.
    case maxError(Double)

    /// Checks that the target is a positive finite number.
    public func validate() throws {
        switch self {
        case .averageBits(let b):
            guard b.isFinite, b > 0 else { throw SpQRError(.invalidSetting, "target bits must be positive, got \(b)") }
        case .totalBytes(let n):
            guard n > 0 else { throw SpQRError(.invalidSetting, "target bytes must be positive, got \(n)") }
        case .maxError(let e):
            guard e.isFinite, e >= 0 else {
                throw SpQRError(.invalidSetting, "maximum error must be a non-negative number, got \(e)")
            }
        }
    }

    public var description: String {
        switch self {
        case .averageBits(let b): return "average bits ≤ \(b)"
        case .totalBytes(let n): return "model bytes ≤ \(n) (\(Self.decimal(n)))"
        case .maxError(let e): return "error ≤ \(e)"
        }
    }

    /// A byte count in the largest decimal unit it reaches ("23.8 GB").
    public static func decimal(_ n: Int) -> String {
        let units = ["B", "kB", "MB", "GB", "TB", "PB"]
        var v = Double(n)
        var u = 0
        while v >= 1000 && u < units.count - 1 {
            v /= 1000
            u += 1
        }
        return u == 0 ? "\(n) B" : String(format: "%.2f %@", v, units[u])
    }

    static let units: [String: Double] = [
        "": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12,
        "kib": 1024, "mib": 1_048_576, "gib": 1_073_741_824, "tib": 1_099_511_627_776,
    ]

    /// Parses a size: "24GB", "500 MB", "1.5GiB", "123456" (bytes). The error names the text and the units.
    public static func parseSize(_ text: String) throws -> Int {
        let t = text.trimmingCharacters(in: .whitespaces)
        let digits = t.prefix { $0.isNumber || $0 == "." }
        let unit = t.dropFirst(digits.count).trimmingCharacters(in: .whitespaces).lowercased()
        guard let value = Double(digits), value.isFinite, let scale = units[unit] else {
            throw SpQRError(
                .invalidSetting,
                "size '\(text)': give a number of bytes with an optional unit: kB, MB, GB, TB (powers of 1000) or KiB, MiB, GiB, TiB (powers of 1024), e.g. 24GB"
            )
        }
        let bytes = (value * scale).rounded(.down)
        guard bytes >= 1, bytes < 9e18 else {
            throw SpQRError(.invalidSetting, "size '\(text)' must be at least 1 byte and below 9 EB")
        }
        return Int(bytes)
    }
}
