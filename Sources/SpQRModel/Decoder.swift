// A decoder-only LLaMA-family forward pass on the CPU (transformers `LlamaModel` / `Qwen2Model`):
//
//   x = E[tokens];  per block: x += o_proj(attn(rope(q(n)), rope(k(n)), v(n))),  n = RMSNorm₁(x)
//                              x += down(silu(gate(m)) ⊙ up(m)),                 m = RMSNorm₂(x)
//   logits = RMSNorm_f(x) · Eᵀ (tied) or lm_headᵀ
//
// Windows of equal length travel together block by block: the hidden states of every window are one
// matrix, so each linear layer is one sgemm over all their tokens and a block's weights are converted
// (read from the file in their stored type) once per batch into buffers reused for every block.
// Resident memory is one block's float32 weights, the activations, and the embedding (and lm_head).

import Foundation
import SpQRCore

/// An input of linear layers, as the Hessian file format names sites.
public struct InputSite: Sendable, Hashable {
    /// The module path of the first layer reading it (`model.layers.3.self_attn.q_proj`, `lm_head`).
    public let name: String
    /// Every weight reading it.
    public let weights: [String]
    /// Its width (the layers' input count).
    public let width: Int
}

/// Receives the input of each site as a [rows, width] matrix while a block runs.
public typealias SiteObserver = (InputSite, UnsafePointer<Float>, _ rows: Int) -> Void

/// A loaded decoder: constants, the embedding and output matrices, and reusable block buffers.
public final class Decoder {
    public let path: String
    public let config: ModelConfig
    let checkpoint: any Checkpoint
    /// Hugging Face name → name in the checkpoint.
    let names: [String: String]
    let embedding: FloatBuffer
    let output: FloatBuffer?
    let finalNorm: FloatBuffer
    let weights: BlockWeights
    var rope: (length: Int, cos: [Float], sin: [Float]) = (0, [], [])
    var scratch: BlockScratch?
    /// Supplies a block tensor in place of the checkpoint's (by Hugging Face name, float32 in its row
    /// order): fills the buffer and returns true, or returns false to read the checkpoint. Used to run a
    /// model whose layers were quantized without writing it first.
    public var weightOverride: ((String, UnsafeMutableBufferPointer<Float>) throws -> Bool)?

    /// Opens a GGUF file, a safetensors file (config.json beside it) or a directory of shards, and checks
    /// that every tensor the configuration needs is present with its shape.
    public init(path: String) throws {
        self.path = path
        let checkpoint = try ModelFiles.openCheckpoint(path)
        self.checkpoint = checkpoint
        if let gguf = checkpoint as? GGUFCheckpoint {
            config = try ModelConfig.gguf(gguf.file)
            names = Dictionary(
                gguf.tensors.map { (GGUFCheckpoint.huggingFaceName($0.storedName), $0.name) },
                uniquingKeysWith: { a, _ in a })
        } else {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            let dir = isDirectory.boolValue ? path : (path as NSString).deletingLastPathComponent
            config = try ModelConfig.huggingFace(
                configPath: ((dir.isEmpty ? "." : dir) as NSString).appendingPathComponent("config.json"))
            names = Dictionary(checkpoint.tensors.map { ($0.name, $0.name) }, uniquingKeysWith: { a, _ in a })
        }
        let c = config
        if !c.tiedEmbeddings && names["lm_head.weight"] == nil {
            throw SpQRError(
                .fileFormat, "\(path): the configuration has a separate output layer but lm_head.weight is missing")
        }
        for (name, shape) in Self.expectedShapes(c) {
            guard let stored = names[name] else {
                throw SpQRError(
                    .fileFormat,
                    "\(path): tensor \(name) is missing (a \(c.family) model with \(c.blocks) blocks needs it)")
            }
            let e = try checkpoint.entry(stored)
            try Self.checkConvertible(e, checkpoint)
            guard e.shape == shape || (shape.count == 1 && e.elementCount == shape[0]) else {
                throw SpQRError(
                    .shapeMismatch,
                    "\(path): tensor \(name) has shape \(e.shape) but the configuration (hidden \(c.hidden), intermediate \(c.intermediate), heads \(c.heads)/\(c.kvHeads) × \(c.headDim), vocabulary \(c.vocabulary)) implies \(shape)"
                )
            }
        }
        embedding = FloatBuffer(c.vocabulary * c.hidden)
        finalNorm = FloatBuffer(c.hidden)
        output = c.tiedEmbeddings ? nil : FloatBuffer(c.vocabulary * c.hidden)
        weights = BlockWeights(c)
        try load("model.norm.weight", into: finalNorm)
        try loadEmbeddings()
    }

    /// (Re)reads the embedding and the separate output layer, through `weightOverride` when it is set.
    public func loadEmbeddings() throws {
        try load("model.embed_tokens.weight", into: embedding)
        if let output { try load("lm_head.weight", into: output) }
    }

    static func expectedShapes(_ c: ModelConfig) -> [(String, [Int])] {
        var shapes: [(String, [Int])] = [
            ("model.embed_tokens.weight", [c.vocabulary, c.hidden]), ("model.norm.weight", [c.hidden]),
        ]
        if !c.tiedEmbeddings { shapes.append(("lm_head.weight", [c.vocabulary, c.hidden])) }
        for b in 0..<c.blocks {
            for part in BlockWeights.parts(c) { shapes.append((BlockWeights.name(part.name, block: b), part.shape)) }
        }
        return shapes
    }

    /// Refuses, before any work, a tensor whose stored type cannot be converted to float32.
    static func checkConvertible(_ e: TensorEntry, _ checkpoint: any Checkpoint) throws {
        let convertible: Bool
        if let gguf = checkpoint as? GGUFCheckpoint {
            convertible = try gguf.file.info(e.storedName).type.isSupported
        } else if let spqr = checkpoint as? SpQRHFCheckpoint, spqr.isQuantized(e.name) {
            convertible = true
        } else {
            convertible = SafetensorsDType(rawValue: e.dtype)?.isFloat ?? false
        }
        guard convertible else {
            throw SpQRError(
                .unsupported,
                "\(checkpoint.path): tensor \(e.name) is stored as \(e.dtype), which cannot be converted to float32 here"
            )
        }
    }

    func load(_ name: String, into buffer: FloatBuffer) throws {
        if let weightOverride, try weightOverride(name, buffer.buffer) { return }
        try checkpoint.load(names[name]!, into: buffer.buffer)
    }

    /// The input sites of block `b` (q/k/v share one, gate/up another), or of the output layer for b = blocks.
    public func sites(block b: Int) -> [InputSite] {
        let c = config
        if b == c.blocks { return [InputSite(name: "lm_head", weights: ["lm_head.weight"], width: c.hidden)] }
        let p = "model.layers.\(b)."
        return [
            InputSite(
                name: p + "self_attn.q_proj",
                weights: ["q_proj", "k_proj", "v_proj"].map { p + "self_attn.\($0).weight" }, width: c.hidden),
            InputSite(
                name: p + "self_attn.o_proj", weights: [p + "self_attn.o_proj.weight"], width: c.heads * c.headDim),
            InputSite(
                name: p + "mlp.gate_proj", weights: [p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"],
                width: c.hidden),
            InputSite(name: p + "mlp.down_proj", weights: [p + "mlp.down_proj.weight"], width: c.intermediate),
        ]
    }

    /// The hidden states [windows·T, hidden] of token windows of equal length (the embedding rows).
    public func embed(_ windows: [[Int]]) throws -> Hidden {
        let t = windows.first?.count ?? 0
        let d = config.hidden
        guard t > 0, windows.allSatisfy({ $0.count == t }) else {
            throw SpQRError(.invalidSetting, "windows must be non-empty and of equal length")
        }
        let x = Hidden(windows: windows.count, length: t, width: d)
        for (w, ids) in windows.enumerated() {
            for (i, id) in ids.enumerated() {
                guard id >= 0 && id < config.vocabulary else {
                    throw SpQRError(.invalidSetting, "token id \(id) is outside the vocabulary of \(config.vocabulary)")
                }
                (x.data.pointer + (w * t + i) * d).update(from: embedding.pointer + id * d, count: d)
            }
        }
        return x
    }

    /// Runs block `b` over `x` in place, showing each site's input to `observer`; stops between windows
    /// groups when `cancel` is set.
    public func runBlock(_ b: Int, on x: Hidden, observer: SiteObserver? = nil, cancel: CancellationToken? = nil) throws
    {
        try prepareBlock(b, for: x)
        let s = scratch!
        let site = observer.map { _ in sites(block: b) }
        for rows in groups(of: x) {
            try cancel?.check()
            let xp = x.data.pointer + rows.lowerBound * config.hidden
            attentionInput(xp, rows: rows.count, into: s.normed.pointer)
            observer?(site![0], s.normed.pointer, rows.count)
            attention(s.normed.pointer, rows: rows.count, into: s.attended.pointer)
            observer?(site![1], s.attended.pointer, rows.count)
            attentionOutput(s.attended.pointer, rows: rows.count, onto: xp, mlpInput: s.normed.pointer)
            observer?(site![2], s.normed.pointer, rows.count)
            mlpHidden(s.normed.pointer, rows: rows.count, into: s.gate.pointer)
            observer?(site![3], s.gate.pointer, rows.count)
            mlpOutput(s.gate.pointer, rows: rows.count, onto: xp)
        }
    }

    // The steps of a block, each over `rows` token rows, in the order runBlock takes them; between two
    // steps sits one input site (q/k/v, o, gate/up, down).

    /// Reads block `b`'s weights (`weightOverride` first) and sizes the rotary tables and the scratch.
    func prepareBlock(_ b: Int, for x: Hidden) throws {
        let t = x.length
        try weights.load(block: b, from: self)
        if rope.length != t {
            let tables = Kernels.ropeTables(positions: t, inverseFrequencies: config.inverseFrequencies())
            rope = (t, tables.cos, tables.sin)
        }
        let group = max(1, min(x.windows, BlockScratch.rowBudget / t))
        if scratch == nil || scratch!.rows < group * t { scratch = BlockScratch(config, rows: group * t) }
    }

    /// Token rows of `x` in groups of whole windows that fit the scratch buffers.
    func groups(of x: Hidden) -> [Range<Int>] {
        let group = max(1, min(x.windows, BlockScratch.rowBudget / x.length))
        return stride(from: 0, to: x.windows, by: group).map {
            ($0 * x.length)..<(min(x.windows, $0 + group) * x.length)
        }
    }

    /// normed = RMSNorm₁(x): the input of q, k and v.
    func attentionInput(_ x: UnsafePointer<Float>, rows: Int, into normed: UnsafeMutablePointer<Float>) {
        Kernels.rmsNorm(
            x, rows: rows, cols: config.hidden, weight: weights.attnNorm.pointer, eps: config.rmsEps, into: normed)
    }

    /// attended = attention(rope(q), rope(k), v) of whole windows: the input of o_proj.
    func attention(_ normed: UnsafePointer<Float>, rows: Int, into attended: UnsafeMutablePointer<Float>) {
        let c = config
        let (s, w) = (scratch!, weights)
        let (qw, kvw, d, t) = (c.heads * c.headDim, c.kvHeads * c.headDim, c.hidden, rope.length)
        Kernels.linear(
            normed, rows: rows, inputs: d, weight: w.q.pointer, outputs: qw, bias: w.qBias?.pointer, into: s.q.pointer)
        Kernels.linear(
            normed, rows: rows, inputs: d, weight: w.k.pointer, outputs: kvw, bias: w.kBias?.pointer,
            into: s.k.pointer)
        Kernels.linear(
            normed, rows: rows, inputs: d, weight: w.v.pointer, outputs: kvw, bias: w.vBias?.pointer,
            into: s.v.pointer)
        Kernels.rope(
            s.q.pointer, rows: rows, windowLength: t, heads: c.heads, headDim: c.headDim, cos: rope.cos, sin: rope.sin)
        Kernels.rope(
            s.k.pointer, rows: rows, windowLength: t, heads: c.kvHeads, headDim: c.headDim, cos: rope.cos,
            sin: rope.sin)
        Kernels.attention(
            q: s.q.pointer, k: s.k.pointer, v: s.v.pointer, windows: rows / t, windowLength: t, heads: c.heads,
            kvHeads: c.kvHeads, headDim: c.headDim, slidingWindow: c.slidingWindow, into: attended)
    }

    /// x += o_proj(attended); normed = RMSNorm₂(x): the input of gate and up.
    func attentionOutput(
        _ attended: UnsafePointer<Float>, rows: Int, onto x: UnsafeMutablePointer<Float>,
        mlpInput normed: UnsafeMutablePointer<Float>
    ) {
        let c = config
        Kernels.linear(
            attended, rows: rows, inputs: c.heads * c.headDim, weight: weights.o.pointer, outputs: c.hidden, into: x,
            accumulate: true)
        mlpInput(x, rows: rows, into: normed)
    }

    /// normed = RMSNorm₂(x).
    func mlpInput(_ x: UnsafePointer<Float>, rows: Int, into normed: UnsafeMutablePointer<Float>) {
        Kernels.rmsNorm(
            x, rows: rows, cols: config.hidden, weight: weights.mlpNorm.pointer, eps: config.rmsEps, into: normed)
    }

    /// hidden = silu(gate(normed)) ⊙ up(normed): the input of down_proj.
    func mlpHidden(_ normed: UnsafePointer<Float>, rows: Int, into hidden: UnsafeMutablePointer<Float>) {
        let c = config
        let s = scratch!
        Kernels.linear(
            normed, rows: rows, inputs: c.hidden, weight: weights.gate.pointer, outputs: c.intermediate, into: hidden)
        Kernels.linear(
            normed, rows: rows, inputs: c.hidden, weight: weights.up.pointer, outputs: c.intermediate,
            into: s.up.pointer)
        Kernels.swiglu(hidden, s.up.pointer, count: rows * c.intermediate)
    }

    /// x += down_proj(hidden).
    func mlpOutput(_ hidden: UnsafePointer<Float>, rows: Int, onto x: UnsafeMutablePointer<Float>) {
        Kernels.linear(
            hidden, rows: rows, inputs: config.intermediate, weight: weights.down.pointer, outputs: config.hidden,
            into: x, accumulate: true)
    }

    /// The final RMSNorm of window `w`'s hidden states into `normed` [T, hidden].
    public func finalNormed(_ x: Hidden, window w: Int, into normed: UnsafeMutablePointer<Float>) {
        Kernels.rmsNorm(
            x.data.pointer + w * x.length * config.hidden, rows: x.length, cols: config.hidden,
            weight: finalNorm.pointer, eps: config.rmsEps, into: normed)
    }

    /// logits [T, vocabulary] of final-normed hidden states [T, hidden].
    public func logits(normed: UnsafePointer<Float>, rows: Int, into logits: UnsafeMutablePointer<Float>) {
        Kernels.linear(
            normed, rows: rows, inputs: config.hidden, weight: (output ?? embedding).pointer,
            outputs: config.vocabulary, into: logits)
    }
}

/// Hidden states of a batch of windows: [windows · length, width], row-major.
public final class Hidden {
    public let windows: Int
    public let length: Int
    public let width: Int
    let data: FloatBuffer

    init(windows: Int, length: Int, width: Int) {
        self.windows = windows
        self.length = length
        self.width = width
        data = FloatBuffer(windows * length * width)
    }
}
