// A GGUF file as a checkpoint: llama.cpp tensor names mapped to the Hugging Face ones for the llama
// architecture family, and the rotary row order of q/k undone.
//
// Names (gguf-py tensor_mapping.py for MODEL_ARCH.LLAMA): token_embd → model.embed_tokens,
// output_norm → model.norm, output → lm_head, and in block N: attn_norm → input_layernorm,
// ffn_norm → post_attention_layernorm, attn_q/k/v/output → self_attn.q_proj/k_proj/v_proj/o_proj,
// ffn_gate/up/down → mlp.gate_proj/up_proj/down_proj, ffn_gate_inp → block_sparse_moe.gate.
//
// Row order: llama.cpp's converter (convert_hf_to_gguf.py, LlamaModel.permute, applied for the
// architectures below) reorders the rows of q_proj and k_proj head by head,
//
//     w.reshape(n_head, 2, D/2, in).swapaxes(1, 2).reshape(n_head·D, in)
//
// so with D rows per head, Hugging Face row h·D + t·D/2 + i becomes GGUF row h·D + 2i + t (t ∈ {0, 1},
// i < D/2), using n_head for q and n_head_kv for k. Loading applies the inverse, so that rows, heads and
// any recipe refer to the same rows as the Hugging Face checkpoint.

import Foundation

/// A GGUF checkpoint.
public struct GGUFCheckpoint: Checkpoint {
    public let path: String
    /// The underlying file (metadata, tensor infos, dequantization).
    public let file: GGUFFile
    let table: TensorTable
    /// `general.architecture`.
    public let architecture: String?

    public var tensors: [TensorEntry] { table.entries }

    /// Architectures whose tensors follow the llama layout and whose q/k rows llama.cpp's converter
    /// permuted (LlamaModel and the subclasses that keep `undo_permute`).
    public static let llamaFamily: Set<String> = [
        "llama", "granite", "granitemoe", "smollm3", "arcee", "mistral3", "llama-embed",
    ]

    static let blockNames: [String: String] = [
        "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj", "attn_v": "self_attn.v_proj",
        "attn_output": "self_attn.o_proj", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
        "ffn_down": "mlp.down_proj", "attn_norm": "input_layernorm", "ffn_norm": "post_attention_layernorm",
        "ffn_gate_inp": "block_sparse_moe.gate",
    ]

    /// The Hugging Face name of a llama.cpp tensor name of the llama family (unchanged when unknown).
    public static func huggingFaceName(_ name: String) -> String {
        switch name {
        case "token_embd.weight": return "model.embed_tokens.weight"
        case "output_norm.weight": return "model.norm.weight"
        case "output.weight": return "lm_head.weight"
        default: break
        }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "blk", let n = Int(parts[1]), n >= 0, let hf = blockNames[String(parts[2])],
            parts[3] == "weight" || parts[3] == "bias"
        else { return name }
        return "model.layers.\(n).\(hf).\(parts[3])"
    }

    /// Opens the file and lists its tensors (only the header is read).
    public init(path: String) throws {
        self.path = path
        let file = try GGUFFile(path: path)
        self.file = file
        let arch = file.metadata["general.architecture"]?.stringValue
        self.architecture = arch
        let llama = arch.map(Self.llamaFamily.contains) ?? false
        var entries: [TensorEntry] = []
        for t in file.tensors {
            let name = llama ? Self.huggingFaceName(t.name) : t.name
            var reason: String?
            if t.dimensions.count != 2 {
                reason = "\(t.dimensions.count)-D tensor (only 2-D weight matrices are quantized)"
            } else if !t.type.isSupported {
                reason =
                    "type \(t.type) cannot be dequantized here (\(GGMLType.supported.map(\.name).joined(separator: ", ")) can)"
            } else if t.dimensions.contains(0) {
                reason = "empty tensor"
            }
            var notes: [String] = []
            if t.type.isQuantized && reason == nil {
                notes.append(
                    "stored as \(t.type) (\(String(format: "%.2f", t.type.bitsPerWeight)) bits/weight): SpQR re-quantizes already-quantized weights"
                )
            }
            if llama && reason == nil {
                do {
                    if let heads = try Self.rotaryHeads(t, file) {
                        notes.append(
                            "rows returned from llama.cpp's rotary order to the Hugging Face order (\(heads) heads)")
                    }
                } catch let e as SpQRError {
                    reason = String(e.message.dropFirst(path.count + 2))
                }
            }
            entries.append(
                TensorEntry(
                    name: name, storedName: t.name, shape: t.shape, dtype: t.type.name,
                    bitsPerWeight: t.type.bitsPerWeight, notQuantizableReason: reason, file: path,
                    note: notes.isEmpty ? nil : notes.joined(separator: "; ")))
        }
        self.table = try TensorTable(entries, path: path)
    }

    public func entry(_ name: String) throws -> TensorEntry { try table.entry(name, path: path) }

    /// The head count whose rotary permutation applies to this tensor (q: n_head, k: n_head_kv), if any.
    static func rotaryHeads(_ t: GGUFTensorInfo, _ file: GGUFFile) throws -> Int? {
        guard let arch = file.metadata["general.architecture"]?.stringValue, llamaFamily.contains(arch) else {
            return nil
        }
        let key: String
        if t.name.hasSuffix(".attn_q.weight") {
            key = "\(arch).attention.head_count"
        } else if t.name.hasSuffix(".attn_k.weight") {
            key =
                file.metadata["\(arch).attention.head_count_kv"] != nil
                ? "\(arch).attention.head_count_kv" : "\(arch).attention.head_count"
        } else {
            return nil
        }
        guard let value = file.metadata[key] else {
            throw SpQRError(
                .fileFormat, "\(file.path): \(key) is missing, so the rotary row order of \(t.name) cannot be undone")
        }
        // Per-layer head counts are stored as an array indexed by block.
        var heads = value.intValue
        if let array = value.arrayValue, let block = Int(t.name.split(separator: ".")[1]), block < array.count {
            heads = array[block].intValue
        }
        guard let heads, heads > 0 else {
            throw SpQRError(.fileFormat, "\(file.path): \(key) is \(value), not a positive head count")
        }
        let rows = t.shape[0]
        guard rows % (2 * heads) == 0 else {
            throw SpQRError(
                .fileFormat,
                "\(file.path): \(t.name) has \(rows) rows, not a multiple of 2 × \(heads) heads (\(key)); cannot undo the rotary order"
            )
        }
        return heads
    }

    /// Row `r` of the llama.cpp (rotary) order holds Hugging Face row `huggingFaceRow(r)`.
    static func huggingFaceRow(_ r: Int, rows: Int, heads: Int) -> Int {
        let d = rows / heads
        let h = r / d
        let within = r % d
        return h * d + (within % 2) * (d / 2) + within / 2
    }

    /// llama.cpp's permutation: rows in Hugging Face order → rows in rotary order.
    static func rotaryOrder(_ m: Matrix, heads: Int) -> Matrix {
        moveRows(m) { r in (to: r, from: huggingFaceRow(r, rows: m.rows, heads: heads)) }
    }

    /// The inverse of llama.cpp's permutation: rows in rotary order → rows in Hugging Face order.
    static func huggingFaceOrder(_ m: Matrix, heads: Int) -> Matrix {
        moveRows(m) { r in (to: huggingFaceRow(r, rows: m.rows, heads: heads), from: r) }
    }

    /// `huggingFaceOrder` from the rows-by-`cols` values at `src` into `dst` (which must not overlap it).
    static func huggingFaceOrder(
        from src: UnsafePointer<Float>, rows: Int, cols: Int, heads: Int, into dst: UnsafeMutablePointer<Float>
    ) {
        moveRows(from: src, into: dst, rows: rows, cols: cols) { r in
            (to: huggingFaceRow(r, rows: rows, heads: heads), from: r)
        }
    }

    /// A copy of `m` with, for every r, row `from` of `m` written to row `to` (`pair(r)` for r in 0..<rows).
    private static func moveRows(_ m: Matrix, _ pair: (Int) -> (to: Int, from: Int)) -> Matrix {
        var out = m
        out.values.withUnsafeMutableBufferPointer { o in
            m.values.withUnsafeBufferPointer { i in
                moveRows(from: i.baseAddress!, into: o.baseAddress!, rows: m.rows, cols: m.cols, pair)
            }
        }
        return out
    }

    /// For every r, row `from` of `src` written to row `to` of `dst` (`pair(r)` for r in 0..<rows).
    private static func moveRows(
        from src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, rows: Int, cols: Int,
        _ pair: (Int) -> (to: Int, from: Int)
    ) {
        for r in 0..<rows {
            let (to, from) = pair(r)
            (dst + to * cols).update(from: src + from * cols, count: cols)
        }
    }

    /// The head count whose rotary order this checkpoint undoes for the 2-D tensor `t` (q and k of the
    /// llama family), or nil when its rows are read as stored.
    func rotaryHeads(of t: GGUFTensorInfo) throws -> Int? {
        guard t.dimensions.count == 2, architecture.map(Self.llamaFamily.contains) == true else { return nil }
        return try Self.rotaryHeads(t, file)
    }

    public func statistics(_ name: String) throws -> TensorStatistics {
        let e = try quantizableEntry(name)
        // Statistics do not depend on the row order, so the stored order is read as it is.
        let info = try file.info(e.storedName)
        return try TensorStatistics.streamed(count: e.elementCount, granularity: info.type.blockSize) {
            try file.floats(e.storedName, elements: $0)
        }
    }

    public func matrix(_ name: String) throws -> Matrix {
        let e = try quantizableEntry(name)
        let info = try file.info(e.storedName)
        let m = Matrix(rows: e.shape[0], cols: e.shape[1], values: try file.floats(e.storedName))
        guard let heads = try rotaryHeads(of: info) else { return m }
        return Self.huggingFaceOrder(m, heads: heads)
    }
}
