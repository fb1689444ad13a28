// llama.cpp importance matrices (tools/imatrix): per weight, the mean squared activation of each input
// column, E[x_j²], which makes a diagonal Hessian H = 2·diag(E[x²]) (the H that 2XᵀX/n would give with
// the off-diagonal correlations dropped).
//
//   legacy binary (imatrix.cpp save_imatrix_legacy): i32 n_entries ≥ 1; per entry: i32 name length,
//                  name, i32 ncall, i32 nval ≥ 1, nval × f32 holding E[x²]·ncall; then, optionally,
//                  i32 chunk count, i32 length and the dataset's file name.   E[x²] = value / ncall
//                  (values as they are when ncall ≤ 0), as llama-quantize's load_imatrix computes it.
//   GGUF form (imatrix.cpp save_imatrix): general.type = "imatrix", imatrix.datasets (string array),
//                  imatrix.chunk_count, imatrix.chunk_size; tensors <name>.in_sum2 (F32, ne [n_in, n_mat],
//                  Σx² per column) and <name>.counts (F32, ne [1, n_mat], rows seen per matrix).
//                  E[x²] = in_sum2 / counts per matrix, and 1 for a matrix that saw no rows (as
//                  llama-quantize does).
//
// n_mat > 1 holds the experts of a mixture-of-experts layer, stacked. Names are llama.cpp's
// (blk.0.attn_q.weight); each entry is also found under the Hugging Face name of the llama mapping
// (GGUFCheckpoint.huggingFaceName) so that it serves a safetensors checkpoint of the same model.

import Foundation

/// An importance matrix as a calibration source (diagonal H).
public struct ImportanceMatrixCalibration: CalibrationSource {
    /// One weight's statistics: E[x²] for each input column of each of `matrices` stacked matrices.
    public struct Entry: Sendable, Equatable {
        /// The name in the file.
        public let name: String
        /// E[x²], matrix after matrix.
        public let meanSquares: [Float]
        /// Stacked matrices (experts); 1 for an ordinary layer.
        public let matrices: Int
        /// Input columns per matrix.
        public var inFeatures: Int { meanSquares.count / matrices }
    }

    public let file: String?
    public var tensor: String? { nil }
    /// Entries by the file's name and by their Hugging Face name.
    public let entries: [String: Entry]
    /// Chunks of calibration text, when recorded.
    public let chunks: Int?
    /// Tokens per chunk (GGUF form only).
    public let chunkSize: Int?
    /// The calibration text files, when recorded.
    public let datasets: [String]
    /// Whether the file is the legacy binary form.
    public let isLegacy: Bool

    public var kind: CalibrationKind { .imatrix }

    public var label: String {
        var parts = ["importance matrix \((file! as NSString).lastPathComponent)"]
        if let chunks { parts.append("\(chunks) chunks" + (chunkSize.map { " of \($0) tokens" } ?? "")) }
        return parts.joined(separator: ", ") + " (diagonal H)"
    }

    /// E[x²] per input column, by tensor name (the file's and the mapped name).
    public var meanSquares: [String: [Float]] { entries.mapValues(\.meanSquares) }

    /// Reads a legacy `.imatrix` or a GGUF imatrix (told apart by the GGUF magic).
    public init(path: String) throws {
        file = path
        let bytes = try FileBytes(path: path)
        var raw: [Entry] = []
        if try bytes.bytes(at: 0, count: min(4, bytes.size), what: "magic") == Array("GGUF".utf8) {
            let g = try GGUFFile(path: path)
            isLegacy = false
            (raw, chunks, chunkSize, datasets) = try Self.readGGUF(g)
        } else {
            isLegacy = true
            chunkSize = nil
            (raw, chunks, datasets) = try Self.readLegacy(bytes)
        }
        var named: [String: Entry] = [:]
        for e in raw { named[e.name] = e }
        for e in raw where named[GGUFCheckpoint.huggingFaceName(e.name)] == nil {
            named[GGUFCheckpoint.huggingFaceName(e.name)] = e
        }
        entries = named
    }

    static func readLegacy(_ file: FileBytes) throws -> ([Entry], Int?, [String]) {
        func fail(_ m: String) -> SpQRError { SpQRError(.fileFormat, "\(file.path): \(m)") }
        var r = ByteReader(file: file)
        let n = try r.i32("entry count")
        // Each entry takes at least 4 + 1 + 4 + 4 + 4 bytes.
        guard n >= 1 else { throw fail("entry count \(n): not an importance matrix, or one without data") }
        guard n <= file.size / 17 else {
            throw fail(
                "entry count \(n) cannot fit in the \(file.size)-byte file (truncated, or not an importance matrix)")
        }
        var entries: [Entry] = []
        for i in 0..<n {
            let len = try r.i32("name length of entry \(i)")
            guard len > 0, len <= min(4096, r.remaining) else {
                throw fail("entry \(i) has a name length of \(len) (truncated, or not an importance matrix)")
            }
            guard let name = String(validating: try r.bytes(len, what: "name of entry \(i)"), as: UTF8.self) else {
                throw fail("entry \(i) name is not valid UTF-8")
            }
            let ncall = try r.i32("ncall of \(name)")
            let nval = try r.i32("value count of \(name)")
            guard nval >= 1 else { throw fail("\(name) has \(nval) values") }
            guard nval <= r.remaining / 4 else {
                throw fail("truncated: \(name) claims \(nval) values, \(r.remaining / 4) remain")
            }
            let values = try r.floats(nval, what: "values of \(name)") { ncall > 0 ? $0 / Float(ncall) : $0 }
            entries.append(Entry(name: name, meanSquares: values, matrices: 1))
        }
        // The trailer is optional and was added later; a partial one is ignored, as llama.cpp does.
        var chunks: Int?
        var datasets: [String] = []
        if r.remaining >= 4 {
            chunks = try r.i32("chunk count")
            if r.remaining >= 4 {
                let len = try r.i32("dataset name length")
                if len > 0, len <= r.remaining,
                    let s = String(validating: try r.bytes(len, what: "dataset name"), as: UTF8.self)
                {
                    datasets = [s]
                }
            }
        }
        return (entries, chunks, datasets)
    }

    static func readGGUF(_ g: GGUFFile) throws -> ([Entry], Int?, Int?, [String]) {
        func fail(_ m: String) -> SpQRError { SpQRError(.fileFormat, "\(g.path): \(m)") }
        if let type = g.metadata["general.type"]?.stringValue, type != "imatrix" {
            throw fail(
                "a GGUF \(type), not an importance matrix (general.type is \"\(type)\"); pass model files as the checkpoint"
            )
        }
        var bases = Set<String>()
        for t in g.tensors {
            if t.name.hasSuffix(".in_sum2") {
                bases.insert(String(t.name.dropLast(".in_sum2".count)))
            } else if t.name.hasSuffix(".counts") {
                bases.insert(String(t.name.dropLast(".counts".count)))
            }
        }
        guard !bases.isEmpty else { throw fail("no <name>.in_sum2 / <name>.counts tensors: not an importance matrix") }
        var entries: [Entry] = []
        for base in bases.sorted() {
            guard g.contains(base + ".in_sum2"), g.contains(base + ".counts") else {
                throw fail(
                    "\(base) has \(g.contains(base + ".counts") ? "counts but no .in_sum2" : "in_sum2 but no .counts") tensor"
                )
            }
            let sumsInfo = try g.info(base + ".in_sum2")
            let countsInfo = try g.info(base + ".counts")
            guard sumsInfo.type == .F32, countsInfo.type == .F32 else {
                throw fail("\(base).in_sum2 and .counts must be F32, got \(sumsInfo.type) and \(countsInfo.type)")
            }
            let sums = try g.floats(sumsInfo.name)
            let counts = try g.floats(countsInfo.name)
            guard !counts.isEmpty, !sums.isEmpty, sums.count % counts.count == 0 else {
                throw fail(
                    "\(base).in_sum2 has \(sums.count) values for \(counts.count) counts; they must divide evenly")
            }
            let n = sums.count / counts.count
            var mean = [Float](repeating: 1, count: sums.count)
            for m in counts.indices where counts[m] > 0 {
                for j in 0..<n { mean[m * n + j] = sums[m * n + j] / counts[m] }
            }
            entries.append(Entry(name: base, meanSquares: mean, matrices: counts.count))
        }
        return (
            entries, g.metadata["imatrix.chunk_count"]?.intValue, g.metadata["imatrix.chunk_size"]?.intValue,
            g.metadata["imatrix.datasets"]?.arrayValue?.strings ?? []
        )
    }

    public func hessian(forLayer layer: String, inFeatures n: Int) throws -> Matrix {
        guard let e = entries[layer] else {
            let some = entries.values.map(\.name).sorted().prefix(3).joined(separator: ", ")
            throw SpQRError(
                .fileFormat,
                "\(file!): the importance matrix has no entry for \(layer) (it has \(Set(entries.values.map(\.name)).count), e.g. \(some))"
            )
        }
        guard e.matrices == 1 else {
            throw SpQRError(
                .unsupported,
                "\(file!): the entry \(e.name) for \(layer) holds \(e.matrices) stacked expert matrices; a single 2-D layer needs one"
            )
        }
        guard e.meanSquares.count == n else {
            throw SpQRError(
                .shapeMismatch,
                "\(file!): the importance matrix entry \(e.name) has \(e.meanSquares.count) columns but layer \(layer) has \(n) inputs"
            )
        }
        if let bad = e.meanSquares.firstIndex(where: { !$0.isFinite || $0 < 0 }) {
            throw SpQRError(
                .nonFinite,
                "\(file!): the importance matrix entry \(e.name) holds \(e.meanSquares[bad]) at column \(bad); E[x²] must be finite and non-negative"
            )
        }
        try MemoryBudget.checkHessian(n, layer: layer, source: "2·diag(E[x²]) from \(file!)")
        return Hessian.fromDiagonal(e.meanSquares.map { 2 * $0 })
    }
}
