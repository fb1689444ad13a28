// Seeded inputs for the SpQRCore tests.

import Foundation
import SpQRTestSupport

@testable import SpQRCore

/// A layer with heavy-tailed weights, a few loud input channels and correlated calibration inputs.
func syntheticLayer(out: Int, in n: Int, samples: Int = 256, seed: UInt64 = 1) -> (w: Matrix, h: Matrix) {
    var g = SeededGenerator(seed: seed)
    var w = Matrix(rows: out, cols: n)
    for k in w.values.indices {
        let x = g.gaussian()
        // Student-t-like tails: a Gaussian divided by a random scale.
        w.values[k] = 0.02 * x / max(0.3, abs(g.gaussian()))
    }
    var x = Matrix(rows: samples, cols: n)
    for r in 0..<samples {
        let common = g.gaussian()
        for c in 0..<n {
            let loud: Float = c % 17 == 3 ? 8 : 1
            x[r, c] = loud * (g.gaussian() + 0.5 * common)
        }
    }
    return (w, try! Hessian.fromActivations(x))
}

/// tr(A H Aᵀ) in Double for row-major A [rows, n].
func quadraticTrace(_ a: [Float], rows: Int, _ h: Matrix) -> Double {
    let n = h.rows
    var total = 0.0
    for r in 0..<rows {
        for i in 0..<n where a[r * n + i] != 0 {
            var acc = 0.0
            for j in 0..<n { acc += Double(h.values[i * n + j]) * Double(a[r * n + j]) }
            total += Double(a[r * n + i]) * acc
        }
    }
    return total
}
