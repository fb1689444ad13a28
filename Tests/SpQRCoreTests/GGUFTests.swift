// GGUF: every supported type against llama.cpp's gguf-py dequantizer (fixtures written by
// tools/make_format_fixtures.py), llama name mapping and the undoing of the rotary row order, bad files.

import Foundation
import Testing
@testable import SpQRCore

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures").path

@Suite("GGUF")
struct GGUFTests {
    @Test("dequantization equals gguf-py", arguments: ["f32", "f16", "bf16", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k"])
    func dequantize(name: String) throws {
        let g = try GGUFFile(path: "\(fixtures)/quants.gguf")
        let expected = try SafetensorsFile(path: "\(fixtures)/quants-expected.safetensors")
        let t = try g.info(name)
        #expect(t.shape == [2, 512])
        let got = try g.floats(name), want = try expected.floats(name)
        #expect(got.count == want.count)
        var worst: Float = 0
        for (a, b) in zip(got, want) { worst = max(worst, abs(a - b) / max(abs(b), 1e-3)) }
        #expect(worst <= 1e-6, "largest relative difference \(worst)")
    }

    @Test("llama names map to Hugging Face names and q/k rows return to their original order")
    func llamaMapping() throws {
        let c = try GGUFCheckpoint(path: "\(fixtures)/llama-tiny.gguf")
        let expected = try SafetensorsFile(path: "\(fixtures)/llama-tiny-expected.safetensors")
        for name in ["model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.k_proj.weight", "model.layers.0.self_attn.v_proj.weight"] {
            let e = try c.entry(name)
            #expect(e.storedName.hasPrefix("blk.0.attn_"))
            #expect(try c.matrix(name) == expected.matrix(name), "\(name)")
        }
        #expect(try c.entry("model.layers.0.self_attn.q_proj.weight").note?.contains("rotary") == true)
        #expect(try c.entry("model.layers.0.input_layernorm.weight").isQuantizable == false)
    }

    @Test("a quantized tensor says it is being re-quantized")
    func requantizeNote() throws {
        let c = try GGUFCheckpoint(path: "\(fixtures)/quants.gguf")
        let e = try c.entry("q4_1")
        #expect(e.note == "stored as Q4_1 (5.00 bits/weight): SpQR re-quantizes already-quantized weights")
        #expect(e.bitsPerWeight == 5)
    }

    static func write(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bad-\(UUID().uuidString).gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    static func message(_ bytes: [UInt8]) throws -> String {
        let path = try write(bytes)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try GGUFFile(path: path)
            return "no error"
        } catch let e as SpQRError {
            return e.message.replacingOccurrences(of: path + ": ", with: "")
        }
    }

    @Test("bad files get specific errors")
    func badFiles() throws {
        let head = Array("GGUF".utf8)
        #expect(try Self.message(Array("GGML".utf8) + Self.le(UInt32(3))).hasPrefix("not a GGUF file (magic"))
        #expect(try Self.message(head + Self.le(UInt32(7)) + Self.le(UInt64(0)) + Self.le(UInt64(0))) == "GGUF version 7 is not supported (versions 2 and 3 are)")
        #expect(try Self.message(head + Self.le(UInt32(3)) + Self.le(UInt64(4_000_000_000)) + Self.le(UInt64(0)))
                .hasPrefix("tensor count 4000000000 cannot fit"))
        // A metadata string that claims more bytes than remain.
        let longKey = head + Self.le(UInt32(3)) + Self.le(UInt64(0)) + Self.le(UInt64(1)) + Self.le(UInt64(1 << 40)) + [UInt8](repeating: 0x61, count: 24)
        let m1 = try Self.message(longKey); #expect(m1.hasPrefix("metadata key claims 1099511627776 bytes"), "\(m1)")
        // general.alignment 0.
        let key = Array("general.alignment".utf8)
        let align0 = head + Self.le(UInt32(3)) + Self.le(UInt64(0)) + Self.le(UInt64(1)) + Self.le(UInt64(key.count)) + key + Self.le(UInt32(4)) + Self.le(UInt32(0))
        #expect(try Self.message(align0) == "general.alignment 0 must be a power of two (default 32)")
        // Truncated: header cut short.
        #expect(try Self.message(head + [3, 0]).hasPrefix("truncated: version needs 4 bytes"))
        // A tensor whose data runs past the end.
        let name = Array("w".utf8)
        let tensor = head + Self.le(UInt32(3)) + Self.le(UInt64(1)) + Self.le(UInt64(0)) + Self.le(UInt64(1)) + name
            + Self.le(UInt32(2)) + Self.le(UInt64(64)) + Self.le(UInt64(64)) + Self.le(UInt32(0)) + Self.le(UInt64(0))
        #expect(try Self.message(tensor).contains("tensor \"w\" (16384 bytes at offset 0) does not fit"))
        // The real file, truncated in the middle of its tensor table.
        let whole = try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/quants.gguf"))
        #expect(try Self.message(Array(whole.prefix(300))) == "tensor count 11 cannot fit in the 284 bytes that remain")
        #expect(try Self.message(Array(whole.prefix(whole.count - 100))).contains("does not fit the"))
    }
}
