// Layer discovery: input sites for each architecture family, blocks and shared inputs of real layouts
// (llama names from GGUF, BERT names from the MiniLM sample), and the thread-safe statistics cache.

import Foundation
import Testing

@testable import SpQRCore

@Suite("Layer discovery")
struct LayerDiscoveryTests {
    @Test(
        "input sites: siblings that read the same input name the first of them",
        arguments: [
            ("model.layers.2.self_attn.q_proj.weight", "model.layers.2.self_attn.q_proj"),
            ("model.layers.2.self_attn.v_proj.weight", "model.layers.2.self_attn.q_proj"),
            ("model.layers.2.self_attn.o_proj.weight", "model.layers.2.self_attn.o_proj"),
            ("model.layers.2.mlp.up_proj.weight", "model.layers.2.mlp.gate_proj"),
            ("model.layers.2.mlp.down_proj.weight", "model.layers.2.mlp.down_proj"),
            ("encoder.layer.0.attention.self.key.weight", "encoder.layer.0.attention.self.query"),
            ("encoder.layer.0.attention.output.dense.weight", "encoder.layer.0.attention.output.dense"),
            ("encoder.layer.0.intermediate.dense.weight", "encoder.layer.0.intermediate.dense"),
            ("transformer.layer.1.attention.v_lin.weight", "transformer.layer.1.attention.q_lin"),
            ("encoder.layer.1.attention.self.value_proj.weight", "encoder.layer.1.attention.self.query_proj"),
            ("encoder.block.0.layer.0.SelfAttention.v.weight", "encoder.block.0.layer.0.SelfAttention.q"),
            ("decoder.block.0.layer.1.EncDecAttention.v.weight", "decoder.block.0.layer.1.EncDecAttention.k"),
            ("decoder.block.0.layer.1.EncDecAttention.q.weight", "decoder.block.0.layer.1.EncDecAttention.q"),
            ("model.decoder.layers.0.encoder_attn.v_proj.weight", "model.decoder.layers.0.encoder_attn.k_proj"),
            ("model.decoder.layers.0.encoder_attn.q_proj.weight", "model.decoder.layers.0.encoder_attn.q_proj"),
            ("transformer.h.0.attn.k_proj.weight", "transformer.h.0.attn.q_proj"),
            ("transformer.h.0.attn.attention.v_proj.weight", "transformer.h.0.attn.attention.q_proj"),
            ("model.layers.0.block_sparse_moe.experts.3.w3.weight", "model.layers.0.block_sparse_moe.experts.3.w1"),
            ("model.layers.0.block_sparse_moe.experts.3.w2.weight", "model.layers.0.block_sparse_moe.experts.3.w2"),
            ("model.layers.0.mlp.experts.7.up_proj.weight", "model.layers.0.mlp.experts.7.gate_proj"),
            ("transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_attn"),
            ("blk.4.attn_v.weight", "blk.4.attn_q"),
            ("blk.4.ffn_up.weight", "blk.4.ffn_gate"),
            ("blk.4.ffn_up_shexp.weight", "blk.4.ffn_gate_shexp"),
        ])
    func inputSites(_ name: String, _ site: String) {
        #expect(LayerDiscovery.inputSite(of: name) == site)
    }

    @Test("blocks in numeric order with shared inputs, on a llama GGUF")
    func llamaBlocks() throws {
        let c = try ModelFiles.openCheckpoint("\(fixtures)/llama-tiny.gguf")
        let blocks = LayerDiscovery.blocks(c)
        #expect(blocks.map(\.name) == ["model.layers.0", "model.layers.1", nil])
        #expect(
            blocks[0].layers.map(\.name)
                == ["down_proj", "gate_proj", "up_proj", "k_proj", "o_proj", "q_proj", "v_proj"].map {
                    "model.layers.0.\($0.hasSuffix("proj") && ["down_proj", "gate_proj", "up_proj"].contains($0) ? "mlp" : "self_attn").\($0).weight"
                })
        #expect(
            blocks[0].sharedInputs == [
                ["model.layers.0.mlp.gate_proj.weight", "model.layers.0.mlp.up_proj.weight"],
                [
                    "model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.q_proj.weight",
                    "model.layers.0.self_attn.v_proj.weight",
                ],
            ])
        let k = try #require(blocks[0].layers.first { $0.name.hasSuffix("k_proj.weight") })
        #expect(k.inputSite == "model.layers.0.self_attn.q_proj")
        #expect(
            k.sharesInputWith == ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.v_proj.weight"])
        #expect(k.entry.storedName == "blk.0.attn_k.weight")
        #expect(blocks[1].layers.count == 2 && blocks[1].sharedInputs.count == 1)
        #expect(blocks[2].layers.map(\.name) == ["lm_head.weight", "model.embed_tokens.weight"])
        #expect(LayerDiscovery.sharedInputs(c).count == 3)
        // Norms (1-D) are not layers.
        #expect(!blocks.flatMap(\.layers).contains { $0.name.contains("norm") })
    }

    @Test("an encoder's q/k/v share an input; its other projections do not")
    func encoderBlocks() throws {
        let c = try ModelFiles.openCheckpoint("\(samplesDirectory)/all-minilm-l6-v2.block3.safetensors")
        let blocks = LayerDiscovery.blocks(c)
        let block = try #require(blocks.first { $0.name == "encoder.layer.3" })
        #expect(block.layers.count == 6)
        #expect(
            block.sharedInputs == [
                [
                    "encoder.layer.3.attention.self.key.weight", "encoder.layer.3.attention.self.query.weight",
                    "encoder.layer.3.attention.self.value.weight",
                ]
            ])
        // The sample's Hessian file names the same sites.
        let h = try HessianFileCalibration(path: "\(samplesDirectory)/all-minilm-l6-v2.block3.hessians.safetensors")
        for l in block.layers { #expect(h.layers[l.name] == "hessian." + l.inputSite, "\(l.name)") }
    }

    /// A checkpoint that counts its reads, to see the cache read each tensor once.
    final class CountingCheckpoint: Checkpoint, @unchecked Sendable {
        let inner: any Checkpoint
        let reads = Locked<[String: Int]>([:])
        init(_ inner: any Checkpoint) { self.inner = inner }
        var path: String { inner.path }
        var tensors: [TensorEntry] { inner.tensors }
        func entry(_ name: String) throws -> TensorEntry { try inner.entry(name) }
        func matrix(_ name: String) throws -> Matrix {
            reads.withLock { $0[name, default: 0] += 1 }
            usleep(20_000)
            return try inner.matrix(name)
        }
    }

    @Test("statistics are computed on demand, once, even when asked for concurrently; failures are not cached")
    func statisticsCache() throws {
        let c = CountingCheckpoint(try ModelFiles.openCheckpoint("\(fixtures)/llama-tiny.gguf"))
        let cache = StatisticsCache(checkpoint: c)
        let name = "model.layers.0.mlp.up_proj.weight"
        #expect(cache.cached(name) == nil)
        let results = Locked<[TensorStatistics]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            // Half ask by the stored name; it is the same tensor.
            let s = try! cache.statistics(i % 2 == 0 ? name : "blk.0.ffn_up.weight")
            results.withLock { $0.append(s) }
        }
        #expect(c.reads.withLock { $0 } == [name: 1])
        let want = TensorStatistics(try c.inner.matrix(name).values)
        #expect(results.withLock { $0 }.allSatisfy { $0 == want })
        #expect(cache.cached("blk.0.ffn_up.weight") == want)
        #expect(want.std > 0.5 && want.std < 1.5 && want.kurtosis > 1.5 && want.kurtosis < 6)
        #expect(throws: SpQRError.self) { try cache.statistics("model.layers.0.input_layernorm.weight") }
        #expect(throws: SpQRError.self) { try cache.statistics("model.layers.0.input_layernorm.weight") }
        #expect(c.reads.withLock { $0["model.layers.0.input_layernorm.weight"] } == 2)
    }
}
