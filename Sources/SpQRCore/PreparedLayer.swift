// A layer prepared for SpQR: everything that depends only on W, H, the permutation order and percdamp,
// computed once so that changes of bits, groups or threshold skip it (reference `SPQRUtil.quantize`, the
// part before the GPTQ loop):
//
//   perm = permutation_order(W, H);  Hp = H[perm][:, perm];  dead columns (diag H = 0) zeroed in W
//   Hd = Hp + λ I,  λ = percdamp · mean |diag Hp|;   U with Uᵀ U = Hd⁻¹ (InverseCholesky.swift)
//   outlier scale = mean_j Var_i(Wp[:, j]) / d_j²,   so that τ = outlier_threshold · outlier scale
//   tr(W H Wᵀ), the denominator of the relative proxy error

import Dispatch
import Foundation

/// A layer ready to quantize: the factorisation and everything else that depends only on W, H, the
/// permutation order and percdamp, so that changes of bits, groups or threshold skip it.
public final class PreparedLayer: Sendable {
    /// The layer's name, used in messages.
    public let name: String
    /// W [out, in] as given.
    public let weights: Matrix
    /// H [in, in] as given (undamped).
    public let hessian: Matrix
    public let permutationOrder: PermutationOrder
    public let percdamp: Double
    public let factor: HessianFactor
    /// mean_j Var_i(Wp[i, j]) / d_j²; τ = outlier_threshold × this.
    public let outlierScale: Double
    /// Original indices of the input columns whose Hessian diagonal is zero.
    public let deadColumns: [Int]
    /// tr(W H Wᵀ), the denominator of the relative proxy error over the whole layer.
    public let weightQuadratic: Double
    /// Seconds spent on the permutation, gathering Wp and the outlier scale.
    public let preparationSeconds: Double
    /// Seconds spent factorising the damped Hessian.
    public let factorisationSeconds: Double
    /// Seconds spent on tr(W H Wᵀ) (0 when it was passed in).
    public let denominatorSeconds: Double
    /// tr(W_R H W_Rᵀ) of the row subsets asked for so far (a preview's rows depend only on the
    /// second-level grouping, so every slider change asks for the same few).
    private let subsetQuadratics = Locked<[[Int]: Double]>([:])

    /// Validates the inputs, factorises the damped, permuted Hessian and computes tr(W H Wᵀ) (unless a
    /// previous preparation of the same W and H passes it in). Both use OpenBLAS's own threads.
    public init(
        name: String, weights: Matrix, hessian: Matrix, permutationOrder: PermutationOrder, percdamp: Double,
        weightQuadratic known: Double? = nil
    ) throws {
        try Hessian.validate(hessian, for: weights, layer: name)
        guard percdamp.isFinite, percdamp >= 0 else {
            throw SpQRError(.invalidSetting, "percdamp must be a non-negative number, got \(percdamp)")
        }
        self.name = name
        self.weights = weights
        self.hessian = hessian
        self.permutationOrder = permutationOrder
        self.percdamp = percdamp
        var clock = PhaseClock()
        let perm = Permutation.order(permutationOrder, weights: weights, hessian: hessian)
        var preparation = clock.lap()
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let factor = try BLAS.withThreads(cores) {
            try HessianFactor(hessian: hessian, perm: perm, percdamp: percdamp, layer: name)
        }
        self.factorisationSeconds = clock.lap()
        self.weightQuadratic =
            known ?? BLAS.withThreads(cores) { ErrorFigures.quadraticTrace(weights, hessian: hessian) }
        self.denominatorSeconds = clock.lap()
        self.factor = factor
        let n = weights.cols
        self.deadColumns = (0..<n).filter { factor.dead[$0] }.map { perm[$0] }.sorted()
        self.outlierScale = OutlierThreshold.scale(weights: weights, factor: factor)
        preparation += clock.lap()
        self.preparationSeconds = preparation
    }

    /// Convenience: prepares with the order and damping of `config`.
    public convenience init(
        name: String, weights: Matrix, hessian: Matrix, config: SpQRConfig,
        weightQuadratic: Double? = nil
    ) throws {
        try self.init(
            name: name, weights: weights, hessian: hessian,
            permutationOrder: config.permutationOrder, percdamp: config.percdamp, weightQuadratic: weightQuadratic)
    }

    /// Whether a run with `config` can reuse this preparation.
    public func matches(_ config: SpQRConfig) -> Bool {
        config.permutationOrder == permutationOrder && config.percdamp == percdamp
    }

    /// W[rows, perm] with dead columns zeroed: the matrix GPTQ works on, gathered afresh for each run so
    /// that a prepared layer holds no second copy of W.
    func permutedWeights(rows: [Int]?) -> [Float] {
        let n = weights.cols
        let m = rows?.count ?? weights.rows
        var out: [Float] = uninitializedArray(m * n)
        let threads = max(1, min(ProcessInfo.processInfo.activeProcessorCount, m))
        weights.values.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                factor.perm.withUnsafeBufferPointer { perm in
                    factor.dead.withUnsafeBufferPointer { dead in
                        let S = SharedPointer(UnsafeMutablePointer(mutating: src.baseAddress!))
                        let D = SharedPointer(dst.baseAddress!)
                        let P = SharedPointer(UnsafeMutablePointer(mutating: perm.baseAddress!))
                        let Z = SharedPointer(UnsafeMutablePointer(mutating: dead.baseAddress!))
                        DispatchQueue.concurrentPerform(iterations: threads) { t in
                            for k in (t * m / threads)..<((t + 1) * m / threads) {
                                let s = S.base + (rows?[k] ?? k) * n
                                let d = D.base + k * n
                                for c in 0..<n { d[c] = Z.base[c] ? 0 : s[P.base[c]] }
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// tr(W H Wᵀ) over the given rows (all rows: the total computed at preparation; a subset is computed
    /// once and kept).
    public func weightQuadratic(rows: [Int]?) -> Double {
        guard let rows else { return weightQuadratic }
        if let known = subsetQuadratics.withLock({ $0[rows] }) { return known }
        let sub = weights.selectingRows(rows)
        let q = ErrorFigures.rowQuadraticForms(sub.values, rows: rows.count, hessian: hessian).reduce(0, +)
        subsetQuadratics.withLock { $0[rows] = q }
        return q
    }

    /// The absolute outlier threshold τ for `config` (∞ when outliers are off).
    public func tau(for config: SpQRConfig) -> Double {
        config.outliersEnabled ? config.outlierThreshold * outlierScale : .infinity
    }
}
