// Comparisons with an explicit relative tolerance: |a − b| ≤ tolerance · max(|b|, floor), where b is the
// expected value and `floor` the magnitude below which the tolerance stops shrinking (so that values
// expected to be zero compare absolutely). The default floor 0 makes the comparison purely relative.

import SpQRCore

/// Whether `actual` is within `tolerance` of `expected`, relative to max(|expected|, `floor`).
public func isClose<T: FloatingPoint>(_ actual: T, _ expected: T, relative tolerance: T, floor: T = 0) -> Bool {
    guard actual.isFinite, expected.isFinite else { return actual == expected }
    return abs(actual - expected) <= tolerance * max(abs(expected), floor)
}

/// Whether two matrices have the same shape and every entry is close (see `isClose(_:_:relative:floor:)`).
public func isClose(_ actual: Matrix, _ expected: Matrix, relative tolerance: Float, floor: Float = 0) -> Bool {
    actual.rows == expected.rows && actual.cols == expected.cols
        && zip(actual.values, expected.values).allSatisfy { isClose($0, $1, relative: tolerance, floor: floor) }
}
