// Calibration activations X [n, in] (one row per token) from a .npy file or a safetensors tensor, turned
// into the layer Hessian
//
//     H = (2 / n) · Xᵀ X = (2 / n) · Σ over row chunks C of X_Cᵀ X_C
//
// (Hessian.swift; GPTQ, Frantar et al. 2022). X is read from the file a chunk of rows at a time and
// accumulated with sgemm, so an X larger than memory costs only [in, in] plus one chunk. Leading
// dimensions are flattened ([batch, seq, in] → [batch·seq, in]). One X serves every layer with `in`
// inputs; the H computed for each input width is kept.

import Foundation

/// Calibration activations (safetensors tensor or .npy) as a calibration source: H = 2XᵀX/n.
public struct ActivationsCalibration: CalibrationSource {
    public let file: String?
    public let tensor: String?
    let npy: NumpyArray?
    let st: SafetensorsFile?
    let cache = HessianCache()

    public var kind: CalibrationKind { .activations }
    public var label: String { "activations \((file! as NSString).lastPathComponent) (H = 2XᵀX/n)" }

    /// Opens activations: a .npy file (told by its magic) or a safetensors file, whose tensor `tensor`
    /// is used (or, unnamed, the only float tensor whose last dimension fits the layer).
    public init(path: String, tensor: String? = nil) throws {
        file = path
        self.tensor = tensor
        let file = try FileBytes(path: path)
        let head = try file.bytes(at: 0, count: min(6, file.size), what: "magic")
        if head == [0x93] + Array("NUMPY".utf8) {
            if let tensor {
                throw SpQRError(
                    .invalidSetting, "\(path): a .npy file holds one array; drop --activations-tensor \(tensor)")
            }
            npy = try NumpyArray(path: path)
            st = nil
        } else {
            npy = nil
            let st = try SafetensorsFile(path: path)
            if let tensor {
                let t = try st.info(tensor)
                guard t.dtype?.isFloat == true, t.shape.count >= 2 else {
                    throw SpQRError(
                        .unsupported,
                        "\(path): activations tensor \(tensor) is \(t.dtypeName) \(t.shape); a float tensor [n, in] is needed"
                    )
                }
            }
            self.st = st
        }
    }

    /// The tensor of the safetensors file that holds X for a layer with `n` inputs.
    func chosenTensor(inFeatures n: Int, st: SafetensorsFile) throws -> SafetensorsTensorInfo {
        if let tensor { return try st.info(tensor) }
        let fits = st.tensors.filter { $0.dtype?.isFloat == true && $0.shape.count >= 2 && $0.shape.last == n }.sorted {
            $0.name < $1.name
        }
        guard fits.count == 1 else {
            throw SpQRError(
                .fileFormat,
                "\(st.path): \(fits.isEmpty ? "no" : "\(fits.count)") float tensors end in \(n) columns"
                    + (fits.isEmpty ? "" : " (\(fits.map(\.name).joined(separator: ", ")))")
                    + "; name one with --activations-tensor")
        }
        return fits[0]
    }

    public func hessian(forLayer layer: String, inFeatures n: Int) throws -> Matrix {
        if let h = cache.get(n) { return h }
        try MemoryBudget.checkHessian(n, layer: layer, source: "2XᵀX/n from \(file!)")
        let h: Matrix
        if let npy {
            guard npy.cols == n else {
                throw SpQRError(
                    .shapeMismatch,
                    "\(npy.path): activations have \(npy.cols) columns but layer \(layer) has \(n) inputs")
            }
            h = try Self.hessian(rows: npy.rows, cols: n, dtype: npy.dtype, what: npy.path) { range, body in
                try npy.withRows(range, body)
            }
        } else {
            let st = st!
            let t = try chosenTensor(inFeatures: n, st: st)
            guard t.shape.last == n else {
                throw SpQRError(
                    .shapeMismatch,
                    "\(st.path): activations \(t.name) have \(t.shape.last ?? 0) columns but layer \(layer) has \(n) inputs"
                )
            }
            let rows = t.shape.dropLast().reduce(1, *)
            let dtype = t.dtype!
            h = try Self.hessian(rows: rows, cols: n, dtype: dtype, what: "\(st.path): \(t.name)") { range, body in
                let rowBytes = n * dtype.size
                try st.bytes.withBytes(
                    at: st.offset(of: t) + range.lowerBound * rowBytes, count: range.count * rowBytes,
                    what: "rows \(range.lowerBound)..<\(range.upperBound) of tensor \"\(t.name)\"", body)
            }
        }
        cache.set(n, h)
        return h
    }

    /// H = 2XᵀX/n accumulated over chunks of `chunkRows` rows (default: about 4M values) read through `withRows`.
    static func hessian(
        rows: Int, cols n: Int, dtype: SafetensorsDType, what: String, chunkRows: Int? = nil,
        withRows: (Range<Int>, (UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws -> Matrix {
        guard rows > 0, n > 0 else {
            throw SpQRError(
                .emptyMatrix, "\(what): calibration activations are empty (\(rows)x\(n)); need at least one row")
        }
        let chunk = max(1, min(rows, chunkRows ?? (1 << 22) / n))
        var buffer = [Float](repeating: 0, count: chunk * n)
        var h = [Float](repeating: 0, count: n * n)
        let alpha = 2 / Float(rows)
        var start = 0
        while start < rows {
            let count = min(chunk, rows - start)
            try withRows(start..<(start + count)) { raw in
                buffer.withUnsafeMutableBufferPointer {
                    FloatConversion.convert(raw, dtype: dtype, count: count * n, into: $0.baseAddress!)
                }
            }
            if let k = buffer.prefix(count * n).firstIndex(where: { !$0.isFinite }) {
                throw SpQRError(
                    .nonFinite,
                    "\(what): calibration activations hold \(buffer[k]) at row \(start + k / n), column \(k % n)")
            }
            buffer.withUnsafeBufferPointer { x in
                h.withUnsafeMutableBufferPointer { hp in
                    BLAS.sgemm(
                        m: n, n: n, k: count, alpha: alpha, a: x.baseAddress!, lda: n, transA: true,
                        b: x.baseAddress!, ldb: n, beta: 1, c: hp.baseAddress!, ldc: n)
                }
            }
            start += count
        }
        return Matrix(rows: n, cols: n, values: h)
    }
}

/// Hessians already computed, by input width (thread-safe).
final class HessianCache: Sendable {
    private let store = Locked<[Int: Matrix]>([:])
    func get(_ n: Int) -> Matrix? { store.withLock { $0[n] } }
    func set(_ n: Int, _ h: Matrix) { store.withLock { $0[n] = h } }
}
