// The lower convex hull of a layer's (cost, error) points: the settings a Lagrangian allocation can pick.
//
//     hull = the points (c_k, e_k) on the lower-left boundary of conv{(c_k, e_k)} ∪ {(c, +∞)}, ordered by
//            cost: c_0 < c_1 < … and e_0 > e_1 > …, with slopes σ_k = (e_k − e_{k+1}) / (c_{k+1} − c_k)
//            strictly decreasing
//
// For a price λ ≥ 0 on cost, argmin_k e_k + λ·c_k is always a hull point: the last one whose incoming
// slope exceeds λ (Everett 1963; the multiple-choice knapsack relaxation, Sinha and Zoltners 1979). Built
// by Andrew's monotone chain over the Pareto staircase (each point cheaper or better than the last), so
// points that cost more for no less error never appear.

/// Lower-left convex hull of (cost, error) pairs.
public enum LowerConvexHull {
    /// Indices of the hull points, by increasing cost and decreasing error. The first is the cheapest point
    /// (the least error among equally cheap ones), the last the one with least error (the cheapest of
    /// those). Non-finite points are skipped; an input without finite points gives [].
    public static func indices(cost: [Double], error: [Double]) -> [Int] {
        precondition(cost.count == error.count)
        let order = cost.indices.filter { cost[$0].isFinite && error[$0].isFinite }.sorted {
            (cost[$0], error[$0], $0) < (cost[$1], error[$1], $1)
        }
        var staircase: [Int] = []
        for i in order where staircase.last.map({ error[i] < error[$0] }) ?? true { staircase.append(i) }
        var hull: [Int] = []
        for p in staircase {
            while hull.count >= 2 {
                let a = hull[hull.count - 2]
                let b = hull[hull.count - 1]
                // b stays only if it lies strictly below the segment a–p.
                let cross = (cost[b] - cost[a]) * (error[p] - error[a]) - (error[b] - error[a]) * (cost[p] - cost[a])
                if cross > 0 { break }
                hull.removeLast()
            }
            hull.append(p)
        }
        return hull
    }

    /// The slopes σ_k = (e_k − e_{k+1}) / (c_{k+1} − c_k) between consecutive hull points: the error each
    /// unit of cost buys on that segment, strictly decreasing.
    public static func slopes(_ hull: [Int], cost: [Double], error: [Double]) -> [Double] {
        zip(hull, hull.dropFirst()).map { a, b in (error[a] - error[b]) / (cost[b] - cost[a]) }
    }
}
