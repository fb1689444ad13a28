// A dense row-major float32 matrix: the one container SpQRCore computes on.
//
// Element (r, c) lives at values[r * cols + c]. W is [out, in] (rows are output channels); H is
// [in, in]. Contiguous storage lets the hot loops run over raw pointers and hand blocks to BLAS.

import Dispatch
import Foundation

/// A dense, row-major `Float` matrix.
public struct Matrix: Sendable, Equatable {
    public let rows: Int
    public let cols: Int
    /// Row-major elements, `rows * cols` of them.
    public var values: [Float]

    /// A matrix over existing row-major values; `values.count` must equal `rows * cols`.
    public init(rows: Int, cols: Int, values: [Float]) {
        precondition(
            rows >= 0 && cols >= 0 && values.count == rows * cols, "Matrix: \(values.count) values for \(rows)x\(cols)")
        self.rows = rows
        self.cols = cols
        self.values = values
    }

    /// A matrix filled with `value`.
    public init(rows: Int, cols: Int, repeating value: Float = 0) {
        self.init(rows: rows, cols: cols, values: [Float](repeating: value, count: rows * cols))
    }

    /// The identity matrix of size n.
    public static func identity(_ n: Int) -> Matrix {
        var m = Matrix(rows: n, cols: n)
        for i in 0..<n { m.values[i * n + i] = 1 }
        return m
    }

    public subscript(r: Int, c: Int) -> Float {
        get { values[r * cols + c] }
        set { values[r * cols + c] = newValue }
    }

    /// The diagonal of a square matrix.
    public var diagonal: [Float] {
        (0..<min(rows, cols)).map { values[$0 * cols + $0] }
    }

    /// The first (row, column) holding NaN or ±Inf, if any.
    public func firstNonFinite() -> (row: Int, col: Int, value: Float)? {
        values.withUnsafeBufferPointer { p in
            for k in 0..<p.count where !p[k].isFinite {
                return (k / max(cols, 1), k % max(cols, 1), p[k])
            }
            return nil
        }
    }

    /// The rows with the given indices, in that order.
    public func selectingRows(_ indices: [Int]) -> Matrix {
        var out: [Float] = uninitializedArray(indices.count * cols)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for (k, r) in indices.enumerated() {
                    for c in 0..<cols { dst[k * cols + c] = src[r * cols + c] }
                }
            }
        }
        return Matrix(rows: indices.count, cols: cols, values: out)
    }

    /// The columns in the given order: result[:, k] = self[:, order[k]].
    public func permutingColumns(_ order: [Int]) -> Matrix {
        precondition(order.count == cols)
        var out: [Float] = uninitializedArray(values.count)
        values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for r in 0..<rows {
                    let s = src.baseAddress! + r * cols
                    let d = dst.baseAddress! + r * cols
                    for k in 0..<cols { d[k] = s[order[k]] }
                }
            }
        }
        return Matrix(rows: rows, cols: cols, values: out)
    }
}

/// Puts values computed in a permuted column order back into the original order, in place:
/// afterwards `a[r, order[k]]` holds what `a[r, k]` held. Rows are processed in parallel with one row of
/// scratch each, so no second copy of the matrix is made.
func unpermuteColumnsInPlace<T: BitwiseCopyable>(_ a: inout [T], rows: Int, cols: Int, order: [Int]) {
    guard rows > 0, cols > 0, order.enumerated().contains(where: { $0.offset != $0.element }) else { return }
    let threads = max(1, min(ProcessInfo.processInfo.activeProcessorCount, rows))
    a.withUnsafeMutableBufferPointer { buf in
        order.withUnsafeBufferPointer { ord in
            let base = SharedPointer(buf.baseAddress!)
            let o = SharedPointer(UnsafeMutablePointer(mutating: ord.baseAddress!))
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                withUnsafeTemporaryAllocation(of: T.self, capacity: cols) { tmp in
                    let scratch = tmp.baseAddress!
                    for r in (t * rows / threads)..<((t + 1) * rows / threads) {
                        let row = base.base + r * cols
                        scratch.update(from: row, count: cols)
                        for k in 0..<cols { row[o.base[k]] = scratch[k] }
                    }
                }
            }
        }
    }
}
