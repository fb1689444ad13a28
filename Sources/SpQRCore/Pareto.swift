// The Pareto front of a settings sweep: the points that no other point beats on both average bits and
// error. A point p is dominated when some q has bits_q ≤ bits_p and error_q ≤ error_p with at least one
// strict; the front is every point not dominated.

/// Pareto-front selection over (bits, error) pairs.
public enum Pareto {
    /// Indices of the non-dominated points, in input order.
    public static func front(bits: [Double], error: [Double]) -> [Int] {
        precondition(bits.count == error.count)
        return bits.indices.filter { p in
            !bits.indices.contains { q in
                q != p && bits[q] <= bits[p] && error[q] <= error[p] && (bits[q] < bits[p] || error[q] < error[p])
            }
        }
    }
}
