// One block's weights as float32 [out, in] matrices (Hugging Face row order), read from the file
// into buffers allocated once per model and reused for every block, and the activation buffers a
// group of windows needs while it passes through a block.

import SpQRCore

/// The float32 weights of the block being run.
final class BlockWeights {
    let q, k, v, o, gate, up, down, attnNorm, mlpNorm: FloatBuffer
    let qBias, kBias, vBias: FloatBuffer?

    /// The tensors of a block: Hugging Face name within the block and shape.
    static func parts(_ c: ModelConfig) -> [(name: String, shape: [Int])] {
        let qw = c.heads * c.headDim
        let kvw = c.kvHeads * c.headDim
        var parts: [(name: String, shape: [Int])] = [
            ("self_attn.q_proj.weight", [qw, c.hidden]), ("self_attn.k_proj.weight", [kvw, c.hidden]),
            ("self_attn.v_proj.weight", [kvw, c.hidden]), ("self_attn.o_proj.weight", [c.hidden, qw]),
            ("mlp.gate_proj.weight", [c.intermediate, c.hidden]), ("mlp.up_proj.weight", [c.intermediate, c.hidden]),
            ("mlp.down_proj.weight", [c.hidden, c.intermediate]),
            ("input_layernorm.weight", [c.hidden]), ("post_attention_layernorm.weight", [c.hidden]),
        ]
        if c.attentionBias {
            parts += [
                ("self_attn.q_proj.bias", [qw]), ("self_attn.k_proj.bias", [kvw]), ("self_attn.v_proj.bias", [kvw]),
            ]
        }
        return parts
    }

    static func name(_ part: String, block b: Int) -> String { "model.layers.\(b).\(part)" }

    init(_ c: ModelConfig) {
        let qw = c.heads * c.headDim
        let kvw = c.kvHeads * c.headDim
        q = FloatBuffer(qw * c.hidden)
        k = FloatBuffer(kvw * c.hidden)
        v = FloatBuffer(kvw * c.hidden)
        o = FloatBuffer(c.hidden * qw)
        gate = FloatBuffer(c.intermediate * c.hidden)
        up = FloatBuffer(c.intermediate * c.hidden)
        down = FloatBuffer(c.hidden * c.intermediate)
        attnNorm = FloatBuffer(c.hidden)
        mlpNorm = FloatBuffer(c.hidden)
        qBias = c.attentionBias ? FloatBuffer(qw) : nil
        kBias = c.attentionBias ? FloatBuffer(kvw) : nil
        vBias = c.attentionBias ? FloatBuffer(kvw) : nil
    }

    /// Buffers in the order of `parts`.
    var buffers: [FloatBuffer] {
        [q, k, v, o, gate, up, down, attnNorm, mlpNorm] + [qBias, kBias, vBias].compactMap { $0 }
    }

    func load(block b: Int, from decoder: Decoder) throws {
        for (part, buffer) in zip(Self.parts(decoder.config), buffers) {
            try decoder.load(Self.name(part.name, block: b), into: buffer)
        }
    }
}

/// Activations of a group of windows inside one block.
final class BlockScratch {
    /// Rows (tokens) passed through a block at once: bounds the activation buffers below.
    static let rowBudget = 4096

    let rows: Int
    let normed, q, k, v, attended, gate, up: FloatBuffer

    init(_ c: ModelConfig, rows: Int) {
        self.rows = rows
        let qw = c.heads * c.headDim
        let kvw = c.kvHeads * c.headDim
        normed = FloatBuffer(rows * c.hidden)
        q = FloatBuffer(rows * qw)
        k = FloatBuffer(rows * kvw)
        v = FloatBuffer(rows * kvw)
        attended = FloatBuffer(rows * qw)
        gate = FloatBuffer(rows * c.intermediate)
        up = FloatBuffer(rows * c.intermediate)
    }
}
