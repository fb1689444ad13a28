// The quantizer of one output row over one column group, fitted at each group start of the GPTQ loop
// (GPTQ.swift; reference `SPQRUtil.quantize` → `get_leave_one_out_error`, `Quantizer.find_params`):
//
//     candidates  C = { k : base − loo_k > τ }              (leave-one-out pre-pass, Outliers.swift)
//     values      v_k = mean_{j∉C} x_j  if k ∈ C,  else x_k  (mean over max(g − |C|, 1) values)
//     quantizer   min–max fit of v (MinMaxQuantizer.swift)
//
// without the pre-pass (simplified_outliers, or τ = ∞) the quantizer is the min–max fit of x itself.
//
// `row` fits one row; `lanes` fits eight rows at once, one per SIMD lane of values laid out column by
// column (x[k] holds column k of the eight rows). Each lane performs the scalar fit's IEEE operations in
// its order: the scans' branches become per-lane selects, a sum skips a column by adding +0 (the running
// sums are never −0, so x + 0 = x), and comparisons are made the way the scalar code makes them. The
// eight quantizers are therefore the same bits as eight calls of `row`; the GPTQ loop fits whole groups
// of eight rows with `lanes` and the rest with `row`.

/// Per-row group fits: the leave-one-out candidates replaced, then min–max.
enum GroupFit {
    /// The quantizer of the `g` values at `x` (their d_j at `d`); `tau` is nil without the pre-pass.
    @inline(__always)
    static func row(
        x: UnsafePointer<Float>, d: UnsafePointer<Float>, g: Int, bits: Int, sym: Bool, roundZero: Bool,
        tau: Float?, _ scratch: LeaveOneOutScratch
    ) -> MinMaxQuantizer {
        var values = x
        if let tau {
            let count = LeaveOneOut.candidates(
                x: x, d: d, g: g, bits: bits, sym: sym, tau: tau, candidate: scratch.candidate,
                scratch: scratch.errors)
            if count > 0 {
                var sum: Float = 0
                for k in 0..<g where !scratch.candidate[k] { sum += x[k] }
                let mean = sum / Float(max(g - count, 1))
                for k in 0..<g { scratch.replaced[k] = scratch.candidate[k] ? mean : x[k] }
                values = UnsafePointer(scratch.replaced)
            }
        }
        return MinMaxQuantizer(
            fitting: UnsafeBufferPointer(start: values, count: g), bits: bits, sym: sym, roundZero: roundZero)
    }

    /// `row` for eight rows: x[k] holds column k of the rows, lane i row i.
    @inline(__always)
    static func lanes(
        x: UnsafePointer<SIMD8<Float>>, d: UnsafePointer<Float>, g: Int, bits: Int, sym: Bool, roundZero: Bool,
        tau: Float?, _ scratch: LeaveOneOutScratch
    ) -> MinMaxQuantizerLanes {
        var values = x
        if let tau {
            let count = LeaveOneOut.candidateLanes(
                x: x, d: d, g: g, bits: bits, sym: sym, tau: tau, candidate: scratch.candidateLanes,
                scratch: scratch.errorLanes)
            if count != .zero {
                var sum = SIMD8<Float>()
                for k in 0..<g { sum += x[k].replacing(with: 0, where: scratch.candidateLanes[k]) }
                var kept = SIMD8<Int32>(repeating: Int32(g)) &- count
                kept.replace(with: 1, where: kept .< 1)
                let mean = sum / SIMD8<Float>(kept)
                for k in 0..<g {
                    scratch.replacedLanes[k] = x[k].replacing(with: mean, where: scratch.candidateLanes[k])
                }
                values = UnsafePointer(scratch.replacedLanes)
            }
        }
        return MinMaxQuantizerLanes(fitting: values, count: g, bits: bits, sym: sym, roundZero: roundZero)
    }
}

extension LeaveOneOut {
    /// `candidates` for eight rows in the lanes of `x` (x[k]: column k); marks `candidate[k]` per lane and
    /// returns each lane's count. `scratch` holds at least g vectors.
    @inline(__always)
    static func candidateLanes(
        x: UnsafePointer<SIMD8<Float>>, d: UnsafePointer<Float>, g: Int, bits: Int, sym: Bool, tau: Float,
        candidate: UnsafeMutablePointer<SIMDMask<SIMD8<Int32>>>, scratch: UnsafeMutablePointer<SIMD8<Float>>
    ) -> SIMD8<Int32> {
        // Smallest and largest value, their positions, and the runner-up values.
        var min1 = SIMD8<Float>(repeating: .infinity)
        var min2 = min1
        var max1 = SIMD8<Float>(repeating: -.infinity)
        var max2 = max1
        var argMin = SIMD8<Int32>()
        var argMax = SIMD8<Int32>()
        for j in 0..<g {
            let v = x[j]
            let index = SIMD8<Int32>(repeating: Int32(j))
            let newMin = v .< min1
            let newMin2 = .!newMin .& (v .< min2)
            min2.replace(with: min1, where: newMin)
            min2.replace(with: v, where: newMin2)
            min1.replace(with: v, where: newMin)
            argMin.replace(with: index, where: newMin)
            let newMax = v .> max1
            let newMax2 = .!newMax .& (v .> max2)
            max2.replace(with: max1, where: newMax)
            max2.replace(with: v, where: newMax2)
            max1.replace(with: v, where: newMax)
            argMax.replace(with: index, where: newMax)
        }
        let base = MinMaxQuantizerLanes(xmin: min1, xmax: max1, bits: bits, sym: sym, roundZero: false)
        var baseError = SIMD8<Float>()
        for j in 0..<g {
            let e = (base(x[j]) - x[j]) / d[j]
            scratch[j] = e * e
            baseError += scratch[j]
        }
        let tauLanes = SIMD8<Float>(repeating: tau)
        if g == 1 {
            let isCandidate = baseError .> tauLanes
            candidate[0] = isCandidate
            return SIMD8<Int32>(repeating: 0).replacing(with: 1, where: isCandidate)
        }
        // Refits without the lane's smallest value (k = argMin) and without its largest (k = argMax ≠ argMin).
        let withoutMin = MinMaxQuantizerLanes(
            xmin: min2, xmax: max1.replacing(with: max2, where: argMin .== argMax), bits: bits, sym: sym,
            roundZero: false)
        let withoutMax = MinMaxQuantizerLanes(xmin: min1, xmax: max2, bits: bits, sym: sym, roundZero: false)
        var looMin = SIMD8<Float>()
        var looMax = SIMD8<Float>()
        for j in 0..<g {
            let index = SIMD8<Int32>(repeating: Int32(j))
            let eMin = (withoutMin(x[j]) - x[j]) / d[j]
            let eMax = (withoutMax(x[j]) - x[j]) / d[j]
            looMin += (eMin * eMin).replacing(with: 0, where: argMin .== index)
            looMax += (eMax * eMax).replacing(with: 0, where: argMax .== index)
        }
        var count = SIMD8<Int32>()
        for k in 0..<g {
            let index = SIMD8<Int32>(repeating: Int32(k))
            var reduction = scratch[k]
            reduction.replace(with: baseError - looMax, where: argMax .== index)
            reduction.replace(with: baseError - looMin, where: argMin .== index)
            let isCandidate = reduction .> tauLanes
            candidate[k] = isCandidate
            count &+= SIMD8<Int32>(repeating: 0).replacing(with: 1, where: isCandidate)
        }
        return count
    }
}
