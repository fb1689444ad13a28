// The lower convex hull and the budget solver: hull properties, optimality against brute force on small
// seeded cases, the Lagrangian bound, the budget always respected, monotonicity in the budget, and the
// out-of-reach error.

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore

@Suite("Allocation solver")
struct AllocationSolverTests {
    /// A uniform number in [0, 1).
    static func uniform(_ g: inout SeededGenerator) -> Double { Double(g.next() >> 11) / Double(1 << 53) }

    /// `groups` groups of 2…`maxOptions` options shaped like layer fronts: error falling with cost, with
    /// noise so that some options sit off the hull or are dominated.
    static func instance(seed: UInt64, groups: Int, maxOptions: Int) -> [[BudgetSolver.Option]] {
        var g = SeededGenerator(seed: seed)
        return (0..<groups).map { _ in
            let n = 2 + Int(g.next() % UInt64(maxOptions - 1))
            let weight = 1 + 9 * uniform(&g)
            let scale = 0.5 + uniform(&g)
            return (0..<n).map { _ in
                let bits = 2 + 6 * uniform(&g)
                return .init(
                    cost: (weight * bits * 100).rounded(), value: scale * exp2(-bits) * (0.7 + 0.6 * uniform(&g)))
            }
        }
    }

    /// The least Σ value over every choice with Σ cost ≤ budget (nil when none fits).
    static func bruteForce(_ groups: [[BudgetSolver.Option]], budget: Double) -> Double? {
        var best: Double?
        func walk(_ i: Int, _ cost: Double, _ value: Double) {
            if cost > budget { return }
            if i == groups.count {
                if best.map({ value < $0 }) ?? true { best = value }
                return
            }
            for o in groups[i] { walk(i + 1, cost + o.cost, value + o.value) }
        }
        walk(0, 0, 0)
        return best
    }

    @Test("the hull keeps the cheapest point, the least-error point and the convex corners between them")
    func hull() {
        let cost: [Double] = [1, 2, 3, 4, 2, 5, 3]
        let error: [Double] = [10, 5, 4, 1, 8, 1, 6]
        let h = LowerConvexHull.indices(cost: cost, error: error)
        #expect(h == [0, 1, 3], "(3, 4) lies above the segment (2, 5)–(4, 1); (5, 1) costs more for the same error")
        #expect(LowerConvexHull.slopes(h, cost: cost, error: error) == [5, 2])
        #expect(LowerConvexHull.indices(cost: [1, .nan, 2], error: [1, 0, .infinity]) == [0])
        #expect(LowerConvexHull.indices(cost: [], error: []) == [])
        // Collinear middle points are dropped: no price makes them the only minimiser.
        #expect(LowerConvexHull.indices(cost: [1, 2, 3], error: [3, 2, 1]) == [0, 2])
    }

    @Test("on random fronts every point lies on or above the hull, whose slopes strictly decrease")
    func hullProperties() {
        for seed in 1...50 as ClosedRange<UInt64> {
            let options = Self.instance(seed: seed, groups: 1, maxOptions: 12)[0]
            let c = options.map(\.cost)
            let e = options.map(\.value)
            let h = LowerConvexHull.indices(cost: c, error: e)
            let s = LowerConvexHull.slopes(h, cost: c, error: e)
            #expect(zip(s, s.dropFirst()).allSatisfy { $0 > $1 } && s.allSatisfy { $0 > 0 }, "seed \(seed)")
            #expect(c[h[0]] == c.min()! && e[h.last!] == e.min()!, "seed \(seed)")
            for k in c.indices {
                // The hull's value at c[k] (flat after its last point, nothing before its first).
                guard c[k] >= c[h[0]] else { continue }
                var line = e[h.last!]
                for (a, b) in zip(h, h.dropFirst()) where c[k] >= c[a] && c[k] <= c[b] {
                    line = e[a] + (e[b] - e[a]) * (c[k] - c[a]) / (c[b] - c[a])
                }
                #expect(e[k] >= line - 1e-12 * abs(line), "seed \(seed) point \(k)")
            }
        }
    }

    @Test("small cases against brute force: budget respected, bound below the optimum, optimal in all 1260 cases")
    func bruteForce() throws {
        var cases = 0
        var optimal = 0
        var greedyOptimal = 0
        var exactHull = 0
        var worst = 0.0
        for seed in 1...60 as ClosedRange<UInt64> {
            let groups = Self.instance(seed: seed, groups: 4, maxOptions: 5)
            let least = groups.reduce(0) { $0 + $1.map(\.cost).min()! }
            let most = groups.reduce(0) { $0 + $1.map(\.cost).max()! }
            for step in 0...20 {
                let budget = least + (most - least) * Double(step) / 20
                let s = try BudgetSolver.minimise(groups, budget: budget)
                let best = try #require(Self.bruteForce(groups, budget: budget))
                cases += 1
                #expect(s.cost <= budget, "seed \(seed) budget \(budget)")
                #expect(abs(s.cost - zip(groups, s.choice).reduce(0) { $0 + $1.0[$1.1].cost }) < 1e-9)
                #expect(s.value >= best - 1e-12, "seed \(seed): no feasible choice beats the optimum")
                #expect(s.bound <= best + 1e-12, "seed \(seed) budget \(budget): the bound is a lower bound")
                #expect(s.value <= s.hullValue, "the fix-up never makes things worse")
                #expect(s.exact, "the branch and bound finishes on 4 groups")
                if s.value <= best + 1e-12 * best { optimal += 1 }
                // Without the branch and bound: the fix-up alone.
                let greedy = try BudgetSolver.minimise(groups, budget: budget, nodeLimit: 0)
                #expect(!greedy.exact && greedy.value >= s.value)
                if greedy.value <= best + 1e-12 * best { greedyOptimal += 1 }
                worst = max(worst, (s.value - best) / best)
                let hullCost = zip(groups, s.hullChoice).reduce(0) { $0 + $1.0[$1.1].cost }
                if hullCost == budget {
                    exactHull += 1
                    #expect(s.value <= best + 1e-12 && s.gap < 1e-12, "a hull choice that uses the budget is optimal")
                }
            }
        }
        #expect(cases == 1260)
        #expect(exactHull > 0)
        #expect(optimal == cases, "\(optimal) of \(cases) optimal")
        #expect(worst < 1e-12, "at most \(worst) above the optimum")
        // The Lagrangian choice and its greedy fix-up alone reach the optimum in 1183 of the cases.
        #expect(greedyOptimal == 1183, "the fix-up alone: \(greedyOptimal) of \(cases)")
    }

    @Test("more budget never gives more error, the gap is small with many groups, and the ends are exact")
    func monotone() throws {
        var worstGap = 0.0
        for seed in 100...120 as ClosedRange<UInt64> {
            let groups = Self.instance(seed: seed, groups: 30, maxOptions: 12)
            let least = groups.reduce(0) { $0 + $1.map(\.cost).min()! }
            let most = groups.reduce(0) { $0 + $1.map(\.cost).max()! }
            var previous = Double.infinity
            for step in 0...200 {
                let budget = least + (most - least) * Double(step) / 200
                let s = try BudgetSolver.minimise(groups, budget: budget)
                #expect(s.cost <= budget)
                #expect(s.value <= previous * (1 + 1e-12), "seed \(seed) step \(step): \(s.value) > \(previous)")
                if step >= 10 { worstGap = max(worstGap, s.gap / s.bound) }
                previous = s.value
            }
            let top = try BudgetSolver.minimise(groups, budget: most)
            #expect(top.value == groups.reduce(0) { $0 + $1.map(\.value).min()! } && top.gap == 0 && top.lambda == 0)
        }
        #expect(worstGap < 0.022, "30 groups, budgets past the cheapest 5%: gap at most \(worstGap) of the bound")
    }

    @Test("a budget below the cheapest choice is refused with the least cost and the cheapest options")
    func infeasible() {
        let groups: [[BudgetSolver.Option]] = [
            [.init(cost: 3, value: 1), .init(cost: 2, value: 5), .init(cost: 2, value: 4)],
            [.init(cost: 1, value: 2), .init(cost: 4, value: 0)],
        ]
        #expect(throws: BudgetSolver.Infeasible(leastCost: 3, cheapest: [2, 0])) {
            try BudgetSolver.minimise(groups, budget: 2.5)
        }
        #expect(throws: SpQRError.self) { try BudgetSolver.minimise([[.init(cost: .nan, value: 1)]], budget: 9) }
    }
}
