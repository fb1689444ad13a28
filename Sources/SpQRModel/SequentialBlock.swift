// One block quantized true-sequentially, as the SpQR reference's `main.py` quantizes a block:
//
//   for each input site s of the block in order (q/k/v, o, gate/up, down):
//     H_s = (2 / N) · Σ over windows and tokens of x_s x_sᵀ,  N = number of windows,
//       where x_s is computed with the layers of the block quantized so far;
//     quantize every layer reading s with H_s and use it from then on;
//   then the block's output, with all its layers quantized, is the next block's input.
//
// The reference reruns the block over the windows once per site. Here each step's activations are kept
// for all windows instead (one [tokens, max(heads·head_dim, intermediate)] buffer), so every product runs
// once; the values are those of the rerun, since the steps before a site do not change after it.

import SpQRCore

extension Decoder {
    /// Runs block `b` over all windows in `x` (in place) one input site at a time. At each site whose
    /// layers `needsHessian` says are not all done, the Hessian of its input over the windows goes to
    /// `quantize`, which returns the site's weights (Hugging Face names → float32 values) to use from then
    /// on; at the other sites `quantize` gets nil and returns the weights already decided (or nothing, to
    /// keep the checkpoint's).
    public func runBlockSequentially(
        _ b: Int, on x: Hidden, needsHessian: (InputSite) -> Bool,
        quantize: (InputSite, Matrix?) throws -> [String: [Float]], cancel: CancellationToken? = nil
    ) throws {
        try prepareBlock(b, for: x)
        let c = config
        let s = scratch!
        let sites = sites(block: b)
        let groups = groups(of: x)
        let totalRows = x.windows * x.length
        let stepWidth = max(c.heads * c.headDim, c.intermediate)
        let kept = FloatBuffer(totalRows * stepWidth)
        let d = c.hidden

        /// Runs `step` over every group (its rows' hidden states and the kept activations at those rows,
        /// rows × width) and decides the site's layers from the inputs `step` returns.
        func site(
            _ i: Int, width: Int,
            _ step: (_ x: UnsafeMutablePointer<Float>, _ rows: Int, _ kept: UnsafeMutablePointer<Float>) ->
                UnsafePointer<Float>
        ) throws {
            let sum = needsHessian(sites[i]) ? HessianSum(width: width) : nil
            for rows in groups {
                try cancel?.check()
                let input = step(
                    x.data.pointer + rows.lowerBound * d, rows.count, kept.pointer + rows.lowerBound * width)
                sum?.add(input, rows: rows.count)
            }
            let h = sum.map { Matrix(rows: width, cols: width, values: $0.hessian(windows: x.windows)) }
            try use(try quantize(sites[i], h), block: b)
        }

        // q, k, v read RMSNorm₁(x).
        try site(0, width: d) { xp, rows, _ in
            attentionInput(xp, rows: rows, into: s.normed.pointer)
            return UnsafePointer(s.normed.pointer)
        }
        // o reads the attention output, kept for the residual step.
        let qw = c.heads * c.headDim
        try site(1, width: qw) { xp, rows, keep in
            attentionInput(xp, rows: rows, into: s.normed.pointer)
            attention(s.normed.pointer, rows: rows, into: keep)
            return UnsafePointer(keep)
        }
        // gate and up read RMSNorm₂(x + o(attended)); x takes the residual here.
        try site(2, width: d) { xp, rows, _ in
            let attended = kept.pointer + (xp - x.data.pointer) / d * qw
            attentionOutput(attended, rows: rows, onto: xp, mlpInput: s.normed.pointer)
            return UnsafePointer(s.normed.pointer)
        }
        // down reads silu(gate) ⊙ up, kept for the last residual step.
        try site(3, width: c.intermediate) { xp, rows, keep in
            mlpInput(xp, rows: rows, into: s.normed.pointer)
            mlpHidden(s.normed.pointer, rows: rows, into: keep)
            return UnsafePointer(keep)
        }
        for rows in groups {
            try cancel?.check()
            mlpOutput(
                kept.pointer + rows.lowerBound * c.intermediate, rows: rows.count,
                onto: x.data.pointer + rows.lowerBound * d)
        }
    }

    /// Puts `replacements` (Hugging Face names of block `b`) into the block's weight buffers.
    private func use(_ replacements: [String: [Float]], block b: Int) throws {
        guard !replacements.isEmpty else { return }
        for (part, buffer) in zip(BlockWeights.parts(config), weights.buffers) {
            guard let values = replacements[BlockWeights.name(part.name, block: b)] else { continue }
            guard values.count == buffer.count else {
                throw SpQRError(
                    .shapeMismatch,
                    "\(BlockWeights.name(part.name, block: b)): \(values.count) values given, \(buffer.count) expected")
            }
            _ = buffer.buffer.update(fromContentsOf: values)
        }
    }
}
