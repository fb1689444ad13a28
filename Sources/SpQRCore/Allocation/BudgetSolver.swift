// One option per group minimising a separable sum under a budget (the multiple-choice knapsack):
//
//     minimise  Σ_i v_i(k_i)   subject to   Σ_i c_i(k_i) ≤ C,   k_i ∈ options of group i
//
// Lagrangian relaxation (Everett 1963): for a price λ ≥ 0, L(λ) = Σ_i min_k [v_ik + λ·c_ik] − λ·C is a
// lower bound on the optimum, and each group's minimiser is a point of its lower convex hull
// (LowerConvexHull.swift). The hull choice's cost Σ c(λ) is a non-increasing step function of λ whose steps
// are at the hull slopes, so a bisection over the sorted slopes finds exactly the least λ* whose choice fits
// the budget; max_λ L(λ) is attained there, so L(λ*) is the bound of the convex (LP) relaxation. Then a
// greedy fix-up spends what is left of the budget: repeatedly the move of one group to any of its options,
// hull or not, with the largest value reduction per unit of extra cost that still fits. It starts from the
// choice at λ* and, separately, from that choice with one group moved to its next hull point (a group the
// LP splits at λ*), the other groups first brought within the budget by the moves that give up the least
// value per unit of cost saved; the best result is kept. The answer
// reports its gap to L(λ*); it is zero when the hull choice uses the budget exactly.

/// Solves budgeted choices of one option per group by Lagrangian relaxation and a greedy fix-up.
public enum BudgetSolver {
    /// One option of a group.
    public struct Option: Sendable, Equatable {
        public var cost: Double
        public var value: Double
        public init(cost: Double, value: Double) {
            self.cost = cost
            self.value = value
        }
    }

    /// What the solver chose and how far it can be from the optimum.
    public struct Solution: Sendable, Equatable {
        /// The chosen option of each group.
        public var choice: [Int]
        /// Σ cost and Σ value of the choice.
        public var cost: Double
        public var value: Double
        /// L(λ*): no choice within the budget has a lower Σ value.
        public var bound: Double
        /// The price λ* of the Lagrangian choice (value per unit of cost).
        public var lambda: Double
        /// The Lagrangian (hull) choice before the fix-up, and its Σ value.
        public var hullChoice: [Int]
        public var hullValue: Double
        /// Moves the fix-up made.
        public var fixUpMoves: Int
        /// value − bound ≥ 0.
        public var gap: Double { max(0, value - bound) }
    }

    /// No choice fits: even the cheapest option of every group costs `leastCost` > the budget.
    public struct Infeasible: Error, Sendable, Equatable {
        public var leastCost: Double
        /// The cheapest option of each group (the least value among equally cheap ones).
        public var cheapest: [Int]
    }

    /// Minimises Σ value with Σ cost ≤ `budget`. Throws `Infeasible` when no choice fits, and a
    /// `SpQRError` when a group has no option with finite cost and value.
    public static func minimise(_ groups: [[Option]], budget: Double) throws -> Solution {
        let hulls = try groups.enumerated().map { i, options in
            let h = LowerConvexHull.indices(cost: options.map(\.cost), error: options.map(\.value))
            guard !h.isEmpty else {
                throw SpQRError(.invalidSetting, "allocation: group \(i) has no option with a finite cost and value")
            }
            return h
        }
        let slopes = zip(groups, hulls).map { o, h in
            LowerConvexHull.slopes(h, cost: o.map(\.cost), error: o.map(\.value))
        }
        /// The hull choice at price λ: each group moves along its hull while the next slope exceeds λ.
        func choice(_ lambda: Double) -> [Int] {
            zip(hulls, slopes).map { h, s in h[s.firstIndex { $0 <= lambda } ?? s.count] }
        }
        func cost(_ c: [Int]) -> Double { zip(groups, c).reduce(0) { $0 + $1.0[$1.1].cost } }
        func value(_ c: [Int]) -> Double { zip(groups, c).reduce(0) { $0 + $1.0[$1.1].value } }

        let cheapest = hulls.map { $0[0] }
        guard cost(cheapest) <= budget else { throw Infeasible(leastCost: cost(cheapest), cheapest: cheapest) }
        // Candidate prices: 0 (every group at its least value) and every hull slope, in increasing order;
        // Σ cost is non-increasing along them and the last (the largest slope) gives the cheapest choice.
        let prices = [0.0] + Array(Set(slopes.joined())).sorted()
        var lo = 0
        var hi = prices.count - 1
        if cost(choice(0)) <= budget {
            hi = 0
        } else {
            // Invariant: prices[lo] does not fit, prices[hi] fits.
            while hi - lo > 1 {
                let mid = (lo + hi) / 2
                if cost(choice(prices[mid])) <= budget { hi = mid } else { lo = mid }
            }
        }
        let lambda = prices[hi]
        let hullChoice = choice(lambda)
        let bound =
            zip(groups, hullChoice).reduce(0) { $0 + $1.0[$1.1].value + lambda * $1.0[$1.1].cost } - lambda * budget

        // Fix-up from the choice at λ*, and from each choice with one group on its next hull point past λ*
        // (the LP's fractional group), the others brought back within the budget; the best is kept.
        var (current, moves) = fixUp(groups, from: hullChoice, budget: budget, keeping: nil)
        if hi > 0 {
            let below = choice(prices[hi - 1])
            for g in groups.indices where below[g] != hullChoice[g] {
                var start = hullChoice
                start[g] = below[g]
                let (other, otherMoves) = fixUp(groups, from: start, budget: budget, keeping: g)
                if cost(other) <= budget && value(other) < value(current) { (current, moves) = (other, otherMoves) }
            }
        }
        // Recomputed from the choice, so rounding in the running budget cannot hide an overrun.
        if cost(current) > budget {
            current = hullChoice
            moves = 0
        }
        return Solution(
            choice: current, cost: cost(current), value: value(current), bound: bound,
            lambda: lambda, hullChoice: hullChoice, hullValue: value(hullChoice), fixUpMoves: moves)
    }

    /// Greedy moves from `start`: while over the budget, the move (of a group other than `keeping`) that
    /// saves cost at the least value increase per unit saved; then, while any fits, the move with the largest value reduction per unit
    /// of extra cost. Returns the choice and the number of moves.
    static func fixUp(_ groups: [[Option]], from start: [Int], budget: Double, keeping: Int?) -> ([Int], Int) {
        var current = start
        var left = budget - zip(groups, current).reduce(0) { $0 + $1.0[$1.1].cost }
        var moves = 0
        while left < 0 {
            var best: (group: Int, option: Int, rate: Double, saved: Double)?
            for (i, options) in groups.enumerated() where i != keeping {
                let now = options[current[i]]
                for (k, o) in options.enumerated() where o.cost < now.cost && o.value.isFinite {
                    let saved = now.cost - o.cost
                    let rate = (o.value - now.value) / saved
                    if best.map({ rate < $0.rate || (rate == $0.rate && saved > $0.saved) }) ?? true {
                        best = (i, k, rate, saved)
                    }
                }
            }
            guard let move = best else { break }
            current[move.group] = move.option
            left += move.saved
            moves += 1
        }
        while left >= 0 {
            var best: (group: Int, option: Int, rate: Double, extra: Double)?
            for (i, options) in groups.enumerated() {
                let now = options[current[i]]
                for (k, o) in options.enumerated() where o.value < now.value && o.cost.isFinite {
                    let extra = o.cost - now.cost
                    guard extra <= left else { continue }
                    let rate = extra <= 0 ? Double.infinity : (now.value - o.value) / extra
                    if best.map({ rate > $0.rate || (rate == $0.rate && extra < $0.extra) }) ?? true {
                        best = (i, k, rate, extra)
                    }
                }
            }
            guard let move = best else { break }
            current[move.group] = move.option
            left -= move.extra
            moves += 1
        }
        return (current, moves)
    }
}
