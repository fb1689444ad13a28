// GGUF: every supported type against llama.cpp's gguf-py dequantizer (fixtures written by
// tools/make_format_fixtures.py), versions 2 and 3, every metadata value type, llama name mapping and
// the undoing of the rotary row order, and a specific error for each kind of bad file.

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore

@Suite("GGUF")
struct GGUFTests {
    static let types = ["f32", "f16", "bf16", "f64", "q8_0", "q4_0", "q4_1", "q5_0", "q5_1", "q4_k", "q5_k", "q6_k"]

    @Test("dequantization equals gguf-py's bit for bit", arguments: types)
    func dequantize(name: String) throws {
        let g = try GGUFFile(path: "\(fixtures)/quants.gguf")
        let expected = try SafetensorsFile(path: "\(fixtures)/quants-expected.safetensors")
        let t = try g.info(name)
        #expect(t.shape == [2, 512] && t.dimensions == [512, 2])
        let got = try g.floats(name)
        let want = try expected.floats(name)
        #expect(got.count == want.count)
        let differing = zip(got, want).filter { $0.bitPattern != $1.bitPattern }.count
        #expect(differing == 0, "\(differing) of \(got.count) values differ")
    }

    @Test("a version 2 file reads like version 3 (the layouts are the same)")
    func version2() throws {
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/quants.gguf")))
        #expect(bytes[4] == 3)
        bytes[4] = 2
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("v2.gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let v2 = try GGUFFile(path: path)
        let v3 = try GGUFFile(path: "\(fixtures)/quants.gguf")
        #expect(v2.version == 2 && v3.version == 3)
        #expect(v2.tensors == v3.tensors && v2.metadata == v3.metadata)
        #expect(try v2.floats("q6_k") == v3.floats("q6_k"))
    }

    @Test("every metadata value type, arrays included, decodes; alignment is honoured")
    func metadata() throws {
        func kv(_ key: String, _ type: UInt32, _ value: [UInt8]) -> [UInt8] { ggufString(key) + le(type) + value }
        let pairs: [[UInt8]] = [
            kv("u8", 0, [200]), kv("i8", 1, [0xFE]), kv("u16", 2, le(UInt16(65000))), kv("i16", 3, le(Int16(-300))),
            kv("u32", 4, le(UInt32(4_000_000_000))), kv("i32", 5, le(Int32(-70000))),
            kv("f32", 6, le(Float(1.5).bitPattern)),
            kv("bool", 7, [1]), kv("string", 8, ggufString("héllo")), kv("u64", 10, le(UInt64.max)),
            kv("i64", 11, le(Int64.min)), kv("f64", 12, le(Double(-2.25).bitPattern)),
            kv("strings", 9, le(UInt32(8)) + le(UInt64(3)) + ggufString("a") + ggufString("") + ggufString("ccc")),
            kv("floats", 9, le(UInt32(6)) + le(UInt64(2)) + le(Float(0.5).bitPattern) + le(Float(-1).bitPattern)),
            kv("general.alignment", 4, le(UInt32(64))),
        ]
        let bytes = ggufBytes(
            kv: pairs, tensors: [("w", [4, 2], 0, 0)], alignment: 64, data: (0..<8).flatMap { le(Float($0).bitPattern) }
        )
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let g = try GGUFFile(path: path)
        let m = g.metadata
        #expect(m["u8"] == .uint(200) && m["i8"] == .int(-2) && m["u16"] == .uint(65000) && m["i16"] == .int(-300))
        #expect(
            m["u32"] == .uint(4_000_000_000) && m["i32"] == .int(-70000) && m["f32"] == .float(1.5)
                && m["bool"] == .bool(true))
        #expect(
            m["string"] == .string("héllo") && m["u64"] == .uint(UInt64.max) && m["i64"] == .int(Int64.min)
                && m["f64"] == .float(-2.25))
        #expect(m["u64"]?.intValue == nil && m["u32"]?.intValue == 4_000_000_000)
        let strings = try #require(m["strings"]?.arrayValue)
        #expect(strings.elementType == .string && strings.count == 3 && strings.strings == ["a", "", "ccc"])
        #expect(strings[2] == .string("ccc") && strings[1] == .string(""))
        let floats = try #require(m["floats"]?.arrayValue)
        #expect(floats.values == [.float(0.5), .float(-1)] && floats[1] == .float(-1))
        #expect(g.alignment == 64)
        #expect(try g.floats("w") == (0..<8).map(Float.init))
    }

    @Test("llama names map to Hugging Face names; q/k rows return to their original order, also from Q8_0")
    func llamaMapping() throws {
        let c = try GGUFCheckpoint(path: "\(fixtures)/llama-tiny.gguf")
        let expected = try SafetensorsFile(path: "\(fixtures)/llama-tiny-expected.safetensors")
        #expect(c.architecture == "llama")
        let quantizable = c.tensors.filter(\.isQuantizable).map(\.name)
        #expect(Set(quantizable) == Set(expected.tensors.map(\.name)))
        #expect(quantizable.count == 11)
        for name in quantizable {
            let m = try c.matrix(name)
            let e = try expected.matrix(name)
            #expect(m.rows == e.rows && m.cols == e.cols, "\(name)")
            // Dequantization and the permutation move values, never change them.
            #expect(m.values.map(\.bitPattern) == e.values.map(\.bitPattern), "\(name)")
        }
        #expect(try c.entry("model.layers.0.self_attn.q_proj.weight").storedName == "blk.0.attn_q.weight")
        #expect(try c.entry("blk.0.ffn_down.weight").name == "model.layers.0.mlp.down_proj.weight")
        #expect(
            try c.entry("model.layers.0.self_attn.q_proj.weight").note
                == "rows returned from llama.cpp's rotary order to the Hugging Face order (4 heads)")
        #expect(
            try c.entry("model.layers.0.self_attn.k_proj.weight").note
                == "rows returned from llama.cpp's rotary order to the Hugging Face order (2 heads)")
        #expect(
            try c.entry("model.layers.1.self_attn.q_proj.weight").note
                == "stored as Q8_0 (8.50 bits/weight): SpQR re-quantizes already-quantized weights; rows returned from llama.cpp's rotary order to the Hugging Face order (4 heads)"
        )
        #expect(try c.entry("model.layers.0.self_attn.v_proj.weight").note == nil)
        let norm = try c.entry("model.layers.0.input_layernorm.weight")
        #expect(norm.notQuantizableReason == "1-D tensor (only 2-D weight matrices are quantized)")
        #expect(try c.entry("model.norm.weight").storedName == "output_norm.weight")
        #expect(try c.entry("lm_head.weight").storedName == "output.weight")
        #expect(try c.entry("model.embed_tokens.weight").storedName == "token_embd.weight")
        #expect(try c.entry("model.layers.0.post_attention_layernorm.weight").storedName == "blk.0.ffn_norm.weight")
    }

    @Test("name mapping covers the llama tensors and leaves others alone")
    func names() {
        let pairs = [
            ("blk.3.attn_q.weight", "model.layers.3.self_attn.q_proj.weight"),
            ("blk.3.attn_k.weight", "model.layers.3.self_attn.k_proj.weight"),
            ("blk.3.attn_v.weight", "model.layers.3.self_attn.v_proj.weight"),
            ("blk.3.attn_output.weight", "model.layers.3.self_attn.o_proj.weight"),
            ("blk.12.ffn_gate.weight", "model.layers.12.mlp.gate_proj.weight"),
            ("blk.0.ffn_up.weight", "model.layers.0.mlp.up_proj.weight"),
            ("blk.0.ffn_down.weight", "model.layers.0.mlp.down_proj.weight"),
            ("blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight"),
            ("blk.0.ffn_norm.weight", "model.layers.0.post_attention_layernorm.weight"),
            ("token_embd.weight", "model.embed_tokens.weight"),
            ("output.weight", "lm_head.weight"), ("output_norm.weight", "model.norm.weight"),
            ("blk.1.attn_q.bias", "model.layers.1.self_attn.q_proj.bias"),
            ("blk.0.ffn_gate_inp.weight", "model.layers.0.block_sparse_moe.gate.weight"),
            ("blk.0.ffn_up_exps.weight", "blk.0.ffn_up_exps.weight"), ("rope_freqs.weight", "rope_freqs.weight"),
            ("blk.x.attn_q.weight", "blk.x.attn_q.weight"),
        ]
        for (gguf, hf) in pairs { #expect(GGUFCheckpoint.huggingFaceName(gguf) == hf) }
    }

    @Test(
        "the rotary permutation: known order for 4-row heads, and the inverse undoes it",
        arguments: [(4, 16), (2, 8), (1, 64), (8, 16)])
    func rotaryRoundTrip(heads: Int, rows: Int) {
        var g = SeededGenerator(seed: UInt64(heads * 100 + rows))
        let m = Matrix(rows: rows, cols: 3, values: (0..<(rows * 3)).map { _ in g.gaussian() })
        let permuted = GGUFCheckpoint.rotaryOrder(m, heads: heads)
        // Heads of two rows have nothing to interleave.
        #expect((permuted != m) == (rows / heads > 2))
        #expect(GGUFCheckpoint.huggingFaceOrder(permuted, heads: heads) == m)
        // llama.cpp order within each head: the first half's rows interleaved with the second half's.
        let d = rows / heads
        let labels = Matrix(rows: rows, cols: 1, values: (0..<rows).map(Float.init))
        let order = GGUFCheckpoint.rotaryOrder(labels, heads: heads).values.map { Int($0) }
        var want: [Int] = []
        for h in 0..<heads {
            for i in 0..<(d / 2) { want += [h * d + i, h * d + d / 2 + i] }
        }
        #expect(order == want)
    }

    @Test("a missing head count makes q/k not quantizable, with the reason")
    func missingHeadCount() throws {
        let bytes = ggufBytes(
            kv: [ggufString("general.architecture") + le(UInt32(8)) + ggufString("llama")],
            tensors: [("blk.0.attn_q.weight", [2, 4], 0, 0), ("blk.0.attn_v.weight", [2, 4], 0, 32)],
            data: [UInt8](repeating: 0, count: 64))
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let c = try GGUFCheckpoint(path: path)
        #expect(
            try c.entry("model.layers.0.self_attn.q_proj.weight").notQuantizableReason
                == "llama.attention.head_count is missing, so the rotary row order of blk.0.attn_q.weight cannot be undone"
        )
        #expect(try c.entry("model.layers.0.self_attn.v_proj.weight").isQuantizable)
    }

    @Test("a type that cannot be dequantized is listed with the reason")
    func unsupportedType() throws {
        // Q8_1 (ggml's internal dot-product type, never written by llama-quantize): 36 bytes per 32 weights.
        let bytes = ggufBytes(tensors: [("w", [32, 1], 9, 0)], data: [UInt8](repeating: 0, count: 64))
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.gguf").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let c = try ModelFiles.openCheckpoint(path)
        #expect(c.tensors[0].dtype == "Q8_1" && c.tensors[0].bitsPerWeight == 9)
        #expect(
            c.tensors[0].notQuantizableReason
                == "type Q8_1 cannot be dequantized here (F32, F16, BF16, F64, Q8_0, Q4_0, Q4_1, "
                + "Q5_0, Q5_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ4_NL, IQ4_XS, "
                + "TQ1_0, TQ2_0, MXFP4, NVFP4 can)")
    }

    static func message(_ bytes: [UInt8]) throws -> String {
        try openMessage(bytes, name: "bad.gguf") { _ = try GGUFFile(path: $0) }
    }

    @Test("bad files get specific errors naming the file")
    func badFiles() throws {
        let m = Self.message
        func kv(_ key: String, _ type: UInt32, _ value: [UInt8]) -> [UInt8] { ggufString(key) + le(type) + value }
        let head = Array("GGUF".utf8)
        #expect(
            try m(Array("GGML".utf8) + le(UInt32(3))) == "not a GGUF file (magic 47474d4c instead of 47475546 \"GGUF\")"
        )
        #expect(try m([]) == "truncated: magic needs 4 bytes at offset 0, the file has 0")
        #expect(
            try m(head + le(UInt32(7)) + le(UInt64(0)) + le(UInt64(0)))
                == "GGUF version 7 is not supported (versions 2 and 3 are)")
        #expect(
            try m(head + le(UInt32(1)) + le(UInt64(0)) + le(UInt64(0)))
                == "GGUF version 1 is not supported (versions 2 and 3 are; re-convert version 1 files with a current llama.cpp)"
        )
        #expect(
            try m(head + le(UInt32(3).byteSwapped) + le(UInt64(0)) + le(UInt64(0)))
                == "big-endian GGUF (version 3 byte-swapped) is not supported; convert it on a little-endian machine")
        #expect(try m(head + [3, 0]) == "truncated: version needs 4 bytes at offset 4, the file has 6")
        #expect(
            try m(head + le(UInt32(3)) + le(UInt64(4_000_000_000)) + le(UInt64(0)))
                == "tensor count 4000000000 cannot fit in the 8 bytes that remain")
        #expect(
            try m(head + le(UInt32(3)) + le(UInt64(0)) + le(UInt64.max))
                == "metadata count 18446744073709551615 cannot fit in the 0 bytes that remain")
        // Strings: a length past the end, invalid UTF-8.
        #expect(
            try m(ggufBytes(kv: [le(UInt64(1 << 40)) + [UInt8](repeating: 0x61, count: 24)]))
                == "metadata key 0 claims 1099511627776 bytes at offset 32, past the end of the 56-byte file")
        #expect(
            try m(ggufBytes(kv: [le(UInt64(2)) + [0xC3, 0x28] + le(UInt32(0)) + [1]]))
                == "metadata key 0 is not valid UTF-8")
        #expect(
            try m(ggufBytes(kv: [kv("s", 8, le(UInt64(99)) + [0x61])]))
                == "metadata s claims 99 bytes at offset 45, past the end of the 46-byte file")
        // Keys: duplicates, unknown types, nested or oversized arrays.
        #expect(try m(ggufBytes(kv: [kv("a", 0, [1]), kv("a", 0, [2])])) == "metadata key \"a\" appears twice")
        #expect(try m(ggufBytes(kv: [kv("a", 13, [1])])) == "type of metadata a is 13, not a GGUF value type (0 to 12)")
        #expect(
            try m(ggufBytes(kv: [kv("a", 9, le(UInt32(9)) + le(UInt64(1)))]))
                == "metadata a nests arrays, which GGUF readers do not accept")
        #expect(
            try m(ggufBytes(kv: [kv("a", 9, le(UInt32(10)) + le(UInt64(3)) + le(UInt64(1)))]))
                == "element count of metadata a 3 cannot fit in the 8 bytes that remain")
        #expect(
            try m(ggufBytes(kv: [kv("a", 9, le(UInt32(8)) + le(UInt64(1)) + le(UInt64(5)) + [0x61])]))
                == "element 0 of metadata a claims 5 bytes at offset 57, past the end of the 58-byte file")
        #expect(
            try m(ggufBytes(kv: [kv("a", 4, [1, 2])]))
                == "truncated: metadata a needs 4 bytes at offset 37, the file has 39")
        // Alignment.
        #expect(
            try m(ggufBytes(kv: [kv("general.alignment", 4, le(UInt32(0)))]))
                == "general.alignment 0 must be a power of two (default 32)")
        #expect(
            try m(ggufBytes(kv: [kv("general.alignment", 4, le(UInt32(48)))]))
                == "general.alignment 48 must be a power of two (default 32)")
        #expect(
            try m(ggufBytes(kv: [kv("general.alignment", 8, ggufString("32"))]))
                == "general.alignment must be an unsigned integer, got string(\"32\")")
        // Tensor table.
        let eight = [UInt8](repeating: 0, count: 64)
        #expect(
            try m(ggufBytes(tensors: [("w", [2, 2], 0, 0), ("w", [2, 2], 0, 32)], data: eight))
                == "tensor name \"w\" appears twice")
        #expect(
            try m(ggufBytes(tensors: [("w", [1, 1, 1, 1, 1], 0, 0)], data: eight))
                == "tensor \"w\" has 5 dimensions (at most 4 allowed)")
        #expect(
            try m(ggufBytes(tensors: [("w", [UInt64(1) << 63], 0, 0)], data: eight))
                == "tensor \"w\" has a negative or absurd dimension 9223372036854775808")
        #expect(
            try m(ggufBytes(tensors: [("w", [1 << 32, 1 << 32], 0, 0)], data: eight))
                == "tensor \"w\" dimensions [4294967296, 4294967296] overflow the element count")
        #expect(
            try m(ggufBytes(tensors: [("w", [1 << 62], 0, 0)], data: eight))
                == "tensor \"w\" dimensions [4611686018427387904] of F32 overflow the byte count")
        #expect(try m(ggufBytes(tensors: [("w", [4], 99, 0)], data: eight)) == "tensor \"w\" has unknown ggml type 99")
        #expect(
            try m(ggufBytes(tensors: [("w", [4], 31, 0)], data: eight))
                == "tensor \"w\" has unknown ggml type 31 (a type llama.cpp no longer supports)")
        #expect(
            try m(ggufBytes(tensors: [("w", [33, 1], 2, 0)], data: eight))
                == "tensor \"w\" of type Q4_0 has rows of 33 elements, not a multiple of its block of 32")
        #expect(
            try m(ggufBytes(tensors: [("w", [2], 0, 4)], data: eight))
                == "tensor \"w\" offset 4 is not a multiple of the alignment 32")
        #expect(
            try m(ggufBytes(tensors: [("w", [64, 64], 0, 0)], data: eight))
                == "tensor \"w\" (16384 bytes at offset 0) does not fit the 64-byte data section (truncated?)")
        #expect(
            try m(ggufBytes(tensors: [("w", [2], 0, 1 << 40)], data: eight))
                == "tensor \"w\" (8 bytes at offset 1099511627776) does not fit the 64-byte data section (truncated?)")
        #expect(
            try m(ggufBytes(tensors: [("a", [16], 0, 0), ("b", [4], 0, 32)], data: eight))
                == "tensors \"a\" and \"b\" overlap in the data section")
        #expect(
            try m(Array(ggufBytes(tensors: [("w", [2], 0, 0)]).dropLast(3)))
                == "truncated: the data section would start at byte 64, past the end of the 61-byte file")
    }

    @Test("every truncation of a real file is reported, never a crash")
    func truncations() throws {
        let whole = Array(try Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/llama-tiny.gguf")))
        var kinds: [String: Int] = [:]
        // Every cut in the header and metadata, then a sample through the data.
        let header = 1200
        for cut in Array(0..<header) + Array(stride(from: header, to: whole.count, by: 97)) {
            let message = try Self.message(Array(whole.prefix(cut)))
            #expect(message != "no error" && !message.hasPrefix("["), "cut at \(cut): \(message)")
            let kind =
                message.contains("truncated")
                ? "truncated"
                : message.contains("cannot fit")
                    ? "cannot fit"
                    : message.contains("does not fit")
                        ? "does not fit" : message.contains("past the end") ? "past the end" : message
            kinds[kind, default: 0] += 1
        }
        #expect(Set(kinds.keys).isSubset(of: ["truncated", "cannot fit", "does not fit", "past the end"]), "\(kinds)")
    }
}

@Suite("ggml dequantization")
struct GGMLDequantizeTests {
    @Test(
        "a tensor large enough to be split over the cores dequantizes every block exactly once",
        arguments: [GGMLType.Q8_0, .Q4_K])
    func parallelBlocks(type: GGMLType) {
        let blocks = (1 << 14) + 3
        var g = SeededGenerator(seed: 77)
        var raw = (0..<(blocks * type.bytesPerBlock)).map { _ in UInt8.random(in: 0...255, using: &g) }
        // Finite fp16 scales at the fields each type keeps them in.
        let scaleOffsets = type == .Q8_0 ? [0] : [0, 2]
        for b in 0..<blocks {
            for o in scaleOffsets {
                let bits = Float16(Float(b % 97) / 64 - 0.7).bitPattern
                raw[b * type.bytesPerBlock + o] = UInt8(bits & 0xFF)
                raw[b * type.bytesPerBlock + o + 1] = UInt8(bits >> 8)
            }
        }
        let count = blocks * type.blockSize
        let whole = raw.withUnsafeBytes { GGMLDequantize.toFloat($0, type: type, count: count) }
        var one = [Float](repeating: .nan, count: count)
        raw.withUnsafeBytes { r in
            one.withUnsafeMutableBufferPointer { o in
                for b in 0..<blocks {
                    GGMLDequantize.block(
                        r.baseAddress! + b * type.bytesPerBlock, type, o.baseAddress! + b * type.blockSize)
                }
            }
        }
        #expect(whole.map(\.bitPattern) == one.map(\.bitPattern))
        #expect(whole.allSatisfy { $0.isFinite })
    }
}
