// llama.cpp importance matrices (tools/imatrix): per weight, the mean squared activation of each input
// column, E[x_j²], which makes a diagonal Hessian H = 2·diag(E[x²]) (the scale does not matter).
//
//   legacy binary: i32 n_entries; per entry: i32 name length, name, i32 ncall, i32 nval, nval × f32
//                  (sums scaled to ncall calls, so E[x²] = value / ncall); optionally i32 chunks,
//                  i32 length, dataset name
//   GGUF form:     tensors <name>.in_sum2 (Σx² per column, [n_in] or [n_in, n_mat]) and <name>.counts
//                  ([1] or [n_mat]), E[x²] = in_sum2 / counts (summed over matrices for MoE experts)
//
// Names are llama.cpp's (blk.0.attn_q.weight); they are mapped to the Hugging Face names of the
// checkpoint where the llama mapping applies.

import Foundation

/// An importance matrix as a calibration source (diagonal H).
public struct ImportanceMatrixCalibration: CalibrationSource {
    public let file: String?
    public var tensor: String? { nil }
    /// E[x²] per input column, by tensor name (both the file's and the mapped name).
    public let meanSquares: [String: [Float]]
    /// Chunks of calibration text, when recorded.
    public let chunks: Int?

    public var kind: CalibrationKind { .imatrix }
    public var label: String { "importance matrix \((file! as NSString).lastPathComponent) (diagonal H)" }

    /// Reads a legacy `.imatrix` or a GGUF imatrix.
    public init(path: String) throws {
        file = path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpQRError(.io, "\(path): cannot open the importance matrix")
        }
        var raw: [String: [Float]] = [:]
        var chunks: Int?
        if data.starts(with: Array("GGUF".utf8)) {
            let g = try GGUFFile(path: path)
            for t in g.tensors where t.name.hasSuffix(".in_sum2") {
                let base = String(t.name.dropLast(".in_sum2".count))
                guard g.tensors.contains(where: { $0.name == base + ".counts" }) else {
                    throw SpQRError(.fileFormat, "\(path): \(t.name) has no matching \(base).counts")
                }
                let sums = try g.floats(t.name), counts = try g.floats(base + ".counts")
                let nIn = t.dimensions[0], nMat = sums.count / max(nIn, 1)
                guard counts.count == nMat else {
                    throw SpQRError(.fileFormat, "\(path): \(base).counts has \(counts.count) values for \(nMat) matrices")
                }
                var mean = [Float](repeating: 0, count: nIn)
                for m in 0..<nMat where counts[m] > 0 {
                    for j in 0..<nIn { mean[j] += sums[m * nIn + j] / counts[m] / Float(nMat) }
                }
                raw[base] = mean
            }
            chunks = g.metadata["imatrix.chunk_count"]?.intValue
        } else {
            var r = ByteReader(data: data, path: path)
            let n = Int(Int32(bitPattern: try r.u32("entry count")))
            guard n >= 0, n <= data.count / 12 else { throw SpQRError(.fileFormat, "\(path): entry count \(n) does not fit the \(data.count)-byte file") }
            for i in 0..<n {
                let len = Int(Int32(bitPattern: try r.u32("name length of entry \(i)")))
                guard len > 0, len <= 4096 else { throw SpQRError(.fileFormat, "\(path): entry \(i) has a name length of \(len)") }
                guard let name = String(validating: try r.bytes(len, what: "name of entry \(i)"), as: UTF8.self) else {
                    throw SpQRError(.fileFormat, "\(path): entry \(i) name is not valid UTF-8")
                }
                let ncall = Int(Int32(bitPattern: try r.u32("ncall of \(name)")))
                let nval = Int(Int32(bitPattern: try r.u32("value count of \(name)")))
                guard nval >= 0, nval <= (data.count - r.offset) / 4 else {
                    throw SpQRError(.fileFormat, "\(path): truncated: \(name) claims \(nval) values, \((data.count - r.offset) / 4) remain")
                }
                let bytes = try r.bytes(4 * nval, what: "values of \(name)")
                let values = bytes.withUnsafeBytes { b in (0..<nval).map { Float(bitPattern: UInt32(littleEndian: b.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) } }
                raw[name] = values.map { ncall > 0 ? $0 / Float(ncall) : $0 }
            }
            if r.offset + 4 <= data.count { chunks = Int(Int32(bitPattern: try r.u32("chunk count"))) }
        }
        var named = raw
        for (k, v) in raw { named[GGUFCheckpoint.huggingFaceName(k)] = v }
        meanSquares = named
        self.chunks = chunks
    }

    public func hessian(forLayer layer: String, inFeatures n: Int) throws -> Matrix {
        guard let d = meanSquares[layer] else {
            throw SpQRError(.fileFormat, "\(file!): the importance matrix has no entry for \(layer)")
        }
        let perColumn: [Float]
        if d.count == n {
            perColumn = d
        } else if d.count % n == 0 {
            // Experts stacked: average their columns.
            let m = d.count / n
            perColumn = (0..<n).map { j in (0..<m).reduce(Float(0)) { $0 + d[$1 * n + j] } / Float(m) }
        } else {
            throw SpQRError(.shapeMismatch, "\(file!): the importance matrix entry for \(layer) has \(d.count) values; the layer has \(n) inputs")
        }
        return Hessian.fromDiagonal(perColumn.map { 2 * $0 })
    }
}
