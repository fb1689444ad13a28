// The bundled samples open, their Hessians cover every layer, and a layer quantizes.

import Foundation
import Testing

@testable import SpQRCore

let samplesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("samples").path

@Suite("Sample bundle")
struct SampleBundleTests {
    @Test(
        "every projection has a symmetric Hessian of its input size",
        arguments: [
            ("smollm2-135m-instruct.block15.gguf", "smollm2-135m-instruct.block15.hessians.safetensors", 7),
            ("all-minilm-l6-v2.block3.safetensors", "all-minilm-l6-v2.block3.hessians.safetensors", 6),
        ])
    func hessiansCoverLayers(_ checkpoint: String, _ hessians: String, _ count: Int) throws {
        let c = try ModelFiles.openCheckpoint("\(samplesDirectory)/\(checkpoint)")
        let source = try ModelFiles.openCalibration(hessians: "\(samplesDirectory)/\(hessians)")
        #expect(source.label.contains("128 seq, 32768 tokens"))
        let layers = c.tensors.filter(\.isQuantizable)
        #expect(layers.count == count)
        for l in layers {
            let h = try source.hessian(forLayer: l.name, inFeatures: l.shape[1])
            let n = h.rows
            #expect(n == l.shape[1])
            for i in stride(from: 0, to: n, by: 37) {
                #expect(h[i, i] > 0)
                for j in stride(from: 0, to: n, by: 41) {
                    #expect(abs(h[i, j] - h[j, i]) <= 1e-6 * max(abs(h[i, j]), 1e-12))
                }
            }
        }
        #expect(LayerDiscovery.blocks(c).first?.layers.filter(\.isQuantizable).count == count)
    }

    @Test("the SmolLM2 layers say they are re-quantized from Q4_1 and their rows are in Hugging Face order")
    func smolNotes() throws {
        let c = try ModelFiles.openCheckpoint("\(samplesDirectory)/smollm2-135m-instruct.block15.gguf")
        let q = try c.entry("model.layers.15.self_attn.q_proj.weight")
        #expect(q.dtype == "Q4_1" && q.shape == [576, 576])
        #expect(q.note?.contains("re-quantizes") == true && q.note?.contains("rotary") == true)
        let w = try c.matrix("model.layers.15.mlp.down_proj.weight")
        #expect(w.rows == 576 && w.cols == 1536 && w.values.allSatisfy { $0.isFinite })
    }

    @Test("default.json names the bundle's files")
    func defaultBundle() throws {
        let data = try #require(FileManager.default.contents(atPath: "\(samplesDirectory)/default.json"))
        let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: String])
        for key in ["checkpoint", "hessians"] {
            #expect(FileManager.default.fileExists(atPath: "\(samplesDirectory)/\(json[key] ?? "-")"))
        }
    }
}
