// The layer Hessian of the GPTQ / SpQR proxy objective ‖W X − Q X‖².
//
//     H = (2 / n) · Xᵀ X        X: [n, in] calibration inputs of the layer (one row per token)
//
// Source: GPTQ (Frantar et al. 2022), eq. for H_F = 2 X Xᵀ; reference `SPQRUtil.add_batch`, where n counts
// the leading dimension of each batch. The scale of H does not change the quantized result (damping and
// the outlier threshold are relative). A diagonal H (from a llama.cpp importance matrix) and H = I (no
// calibration data) are the lower-fidelity sources.

/// Constructors and checks for the [in, in] Hessian.
public enum Hessian {
    /// H = 2 XᵀX / n from calibration activations X [n, in].
    public static func fromActivations(_ x: Matrix) throws -> Matrix {
        guard x.rows > 0, x.cols > 0 else {
            throw SpQRError(
                .emptyMatrix, "calibration activations are empty (\(x.rows)x\(x.cols)); need at least one row")
        }
        if let bad = x.firstNonFinite() {
            throw SpQRError(
                .nonFinite, "calibration activations hold \(bad.value) at row \(bad.row), column \(bad.col)")
        }
        let n = x.cols
        var h = [Float](repeating: 0, count: n * n)
        x.values.withUnsafeBufferPointer { xp in
            h.withUnsafeMutableBufferPointer { hp in
                BLAS.sgemm(
                    m: n, n: n, k: x.rows, alpha: 2 / Float(x.rows), a: xp.baseAddress!, lda: n, transA: true,
                    b: xp.baseAddress!, ldb: n, beta: 0, c: hp.baseAddress!, ldc: n)
            }
        }
        return Matrix(rows: n, cols: n, values: h)
    }

    /// A diagonal H, for example the mean squared activations of an importance matrix.
    public static func fromDiagonal(_ diagonal: [Float]) -> Matrix {
        var m = Matrix(rows: diagonal.count, cols: diagonal.count)
        for (i, v) in diagonal.enumerated() { m.values[i * diagonal.count + i] = v }
        return m
    }

    /// H = I: data-free quantization (every input feature equally important, uncorrelated).
    public static func identity(_ n: Int) -> Matrix { Matrix.identity(n) }

    /// Checks that H fits W and holds usable numbers.
    ///
    /// A positive semi-definite H with a zero on its diagonal has the whole row and column zero;
    /// anything else is indefinite and is rejected here rather than producing meaningless figures.
    public static func validate(_ h: Matrix, for w: Matrix, layer: String) throws {
        guard w.rows > 0, w.cols > 0 else {
            throw SpQRError(.emptyMatrix, "layer \(layer): the weight matrix is empty (\(w.rows)x\(w.cols))")
        }
        guard h.rows == h.cols else {
            throw SpQRError(.shapeMismatch, "layer \(layer): the Hessian must be square, got \(h.rows)x\(h.cols)")
        }
        guard h.rows == w.cols else {
            throw SpQRError(
                .shapeMismatch,
                "layer \(layer): the Hessian is \(h.rows)x\(h.cols) but the weight has \(w.cols) input columns "
                    + "(W is [out, in] = [\(w.rows), \(w.cols)]); use the Hessian of this layer's input")
        }
        if let bad = w.firstNonFinite() {
            throw SpQRError(
                .nonFinite, "layer \(layer): weight holds \(bad.value) at row \(bad.row), column \(bad.col)")
        }
        if let bad = h.firstNonFinite() {
            throw SpQRError(
                .nonFinite, "layer \(layer): Hessian holds \(bad.value) at row \(bad.row), column \(bad.col)")
        }
        let n = h.rows
        try h.values.withUnsafeBufferPointer { p in
            for j in 0..<n where p[j * n + j] <= 0 {
                if p[j * n + j] < 0 {
                    throw SpQRError(
                        .notPositiveDefinite,
                        "layer \(layer): Hessian diagonal entry \(j) is negative (\(p[j * n + j])); a Hessian XᵀX is never negative on its diagonal"
                    )
                }
                for k in 0..<n where p[j * n + k] != 0 {
                    throw SpQRError(
                        .notPositiveDefinite,
                        "layer \(layer): Hessian column \(j) has a zero diagonal but a non-zero entry at (\(j), \(k)), "
                            + "so it is not positive semi-definite; check that the file holds XᵀX for this layer")
                }
            }
        }
    }
}
