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
// reports its gap to L(λ*); it is zero when the hull choice uses the budget exactly. Last, a depth-first
// branch and bound over the groups proves the answer optimal or finds a better one: a partial choice of
// groups 0…i−1 with value V and cost K can lead to nothing below
//
//     V + Σ_{j ≥ i} min_k [v_jk + λ*·c_jk] − λ*·(C − K)
//
// (the Lagrangian bound of the remaining groups at λ*, valid at any λ ≥ 0), nor fit when K plus their
// cheapest costs exceeds C; such branches are cut. Options are tried in order of v + λ*·c. When the search
// ends within its node limit the answer is optimal (`exact`); otherwise it is the best found.

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
        /// Whether the branch and bound finished, so that no choice within the budget has a lower Σ value.
        public var exact: Bool
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
    /// `SpQRError` when a group has no option with finite cost and value. The branch and bound visits at
    /// most `nodeLimit` partial choices (0: none, the fix-up's answer).
    public static func minimise(_ groups: [[Option]], budget: Double, nodeLimit: Int = 200_000) throws -> Solution {
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
        let searched = branchAndBound(
            groups, budget: budget, lambda: lambda, incumbent: current, incumbentValue: value(current),
            nodeLimit: nodeLimit)
        if let better = searched.choice, cost(better) <= budget, value(better) < value(current) { current = better }
        return Solution(
            choice: current, cost: cost(current), value: value(current), bound: bound,
            lambda: lambda, hullChoice: hullChoice, hullValue: value(hullChoice), fixUpMoves: moves,
            exact: searched.finished)
    }

    /// Depth-first search for a choice within `budget` of lower Σ value than `incumbentValue`, cutting
    /// branches by the Lagrangian bound at `lambda` and by the remaining groups' least cost. Returns the
    /// best choice found (nil when none beats the incumbent) and whether the search finished within
    /// `nodeLimit` nodes.
    static func branchAndBound(
        _ groups: [[Option]], budget: Double, lambda: Double, incumbent: [Int], incumbentValue: Double,
        nodeLimit: Int
    ) -> (choice: [Int]?, finished: Bool) {
        let n = groups.count
        guard nodeLimit > 0, n > 0 else { return (nil, false) }
        // Per group: its finite options in order of v + λ·c, and the suffix sums of the least v + λ·c
        // and of the least cost.
        let order = groups.map { options in
            options.indices.filter { options[$0].cost.isFinite && options[$0].value.isFinite }
                .sorted {
                    options[$0].value + lambda * options[$0].cost < options[$1].value + lambda * options[$1].cost
                }
        }
        var lagrangianTail = [Double](repeating: 0, count: n + 1)
        var costTail = [Double](repeating: 0, count: n + 1)
        for i in stride(from: n - 1, through: 0, by: -1) {
            let o = groups[i]
            guard let first = order[i].first else { return (nil, false) }
            lagrangianTail[i] = lagrangianTail[i + 1] + o[first].value + lambda * o[first].cost
            costTail[i] = costTail[i + 1] + order[i].map { o[$0].cost }.min()!
        }
        var best = incumbentValue
        var bestChoice: [Int]?
        var current = incumbent
        var nodes = 0
        // Cuts keep a margin of 10⁻¹² relative, so rounding never cuts a choice that is truly better.
        let margin = 1e-12 * max(abs(incumbentValue), 1e-300)
        func visit(_ i: Int, _ value: Double, _ cost: Double) -> Bool {
            nodes += 1
            if nodes > nodeLimit { return false }
            if i == n {
                if value < best - margin {
                    best = value
                    bestChoice = current
                }
                return true
            }
            for k in order[i] {
                let o = groups[i][k]
                let c = cost + o.cost
                let v = value + o.value
                // The bound grows with v + λ·c, the order of the options: past the first cut, all are cut.
                if v + lagrangianTail[i + 1] - lambda * (budget - c) >= best - margin { break }
                if c + costTail[i + 1] > budget { continue }
                current[i] = k
                if !visit(i + 1, v, c) { return false }
            }
            return true
        }
        let finished = visit(0, 0, 0)
        return (bestChoice, finished)
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
