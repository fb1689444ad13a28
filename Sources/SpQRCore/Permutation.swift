// Column processing orders of the reference `weight_permutation.get_permutation_order`.
//
//   identity:  perm = 0, 1, …, in−1
//   act_order: perm = argsort(diag H, descending)                      (undamped H, original order)
//   spearman:  R = ranks of W within each column, centred per column, columns L2-normalised;
//              S = Rᵀ R; for k = 0 … in−3 the remaining column with the largest S[perm[k], ·] moves
//              to position k+1 (a greedy nearest-neighbour chain).
//
// Ties (equal diagonal entries, equal ranks) have no defined order in the reference (PyTorch's sort is not
// stable); here they are broken by column index, which makes runs reproducible. A rank column that is
// all zero (a single-row W) cannot be normalised and is left at zero similarity to everything.

/// Computes the processing order of the input columns.
public enum Permutation {
    /// The permutation for `order`: result[k] is the original column processed k-th.
    public static func order(_ order: PermutationOrder, weights w: Matrix, hessian h: Matrix) -> [Int] {
        switch order {
        case .identity: return Array(0..<w.cols)
        case .actOrder: return actOrder(h)
        case .spearman: return spearman(w)
        }
    }

    /// argsort(diag H) descending, ties by column index.
    public static func actOrder(_ h: Matrix) -> [Int] {
        let d = h.diagonal
        return d.indices.sorted { d[$0] != d[$1] ? d[$0] > d[$1] : $0 < $1 }
    }

    /// The Spearman greedy chain over the columns of W.
    public static func spearman(_ w: Matrix) -> [Int] {
        let out = w.rows
        let n = w.cols
        guard n > 2 else { return Array(0..<n) }
        // unit[c * out + r]: centred rank of w[r, c], each column scaled to unit length.
        var unit = [Float](repeating: 0, count: n * out)
        var column = [Float](repeating: 0, count: out)
        var idx = [Int](repeating: 0, count: out)
        let mean = Float(out - 1) / 2
        for c in 0..<n {
            for r in 0..<out {
                column[r] = w.values[r * n + c]
                idx[r] = r
            }
            idx.sort { column[$0] != column[$1] ? column[$0] < column[$1] : $0 < $1 }
            var norm: Float = 0
            for (rank, r) in idx.enumerated() {
                let v = Float(rank) - mean
                unit[c * out + r] = v
                norm += v * v
            }
            norm = norm.squareRoot()
            if norm > 0 { for r in 0..<out { unit[c * out + r] /= norm } }
        }
        var s = [Float](repeating: 0, count: n * n)
        unit.withUnsafeBufferPointer { u in
            s.withUnsafeMutableBufferPointer { sp in
                BLAS.sgemm(
                    m: n, n: n, k: out, alpha: 1, a: u.baseAddress!, lda: out,
                    b: u.baseAddress!, ldb: out, transB: true, beta: 0, c: sp.baseAddress!, ldc: n)
            }
        }
        var perm = Array(0..<n)
        s.withUnsafeMutableBufferPointer { sp in
            let m = sp.baseAddress!
            for k in 0..<(n - 2) {
                var best = k + 1
                var bestValue = m[k * n + k + 1]
                for c in (k + 2)..<n where m[k * n + c] > bestValue {
                    best = c
                    bestValue = m[k * n + c]
                }
                let a = k + 1
                if best != a {
                    for c in 0..<n { m.swapAt(a * n + c, best * n + c) }
                    for r in 0..<n { m.swapAt(r * n + a, r * n + best) }
                    perm.swapAt(a, best)
                }
            }
        }
        return perm
    }

    /// The inverse permutation: inverse[perm[k]] = k.
    public static func inverse(_ perm: [Int]) -> [Int] {
        var inv = [Int](repeating: 0, count: perm.count)
        for (k, p) in perm.enumerated() { inv[p] = k }
        return inv
    }
}

extension UnsafeMutablePointer {
    @inline(__always) func swapAt(_ i: Int, _ j: Int) {
        let t = self[i]
        self[i] = self[j]
        self[j] = t
    }
}
