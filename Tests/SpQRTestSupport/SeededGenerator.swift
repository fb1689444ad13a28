// The seeded generator of every test: SpQRCore's SplitMix64 (`SeededRandom`), under the name the tests
// use, so that each generated input is reproducible from its seed and no test carries a generator of
// its own.

import SpQRCore

/// The tests' seeded generator (SplitMix64 with Box–Muller Gaussian samples).
public typealias SeededGenerator = SeededRandom
