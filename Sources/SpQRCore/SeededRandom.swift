// SplitMix64 (Steele, Lea, Flood 2014): a small, fast, reproducible generator for generated test and
// benchmark layers, with Gaussian samples by the Box–Muller transform:
//     z = sqrt(−2 ln u) · cos(2π v),   u, v uniform on (0, 1]

import Foundation

/// A seeded SplitMix64 generator.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A standard normal sample.
    public mutating func gaussian() -> Float {
        let u = Float(next() >> 40 + 1) / Float(1 << 24)
        let v = Float(next() >> 40) / Float(1 << 24)
        return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
    }
}
