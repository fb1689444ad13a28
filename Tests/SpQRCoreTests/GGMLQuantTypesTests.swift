// The ggml types beyond the legacy quants and Q4_K…Q6_K — Q2_K, Q3_K, the i-quants, TQ1_0, TQ2_0, MXFP4
// and NVFP4 — against gguf-py's dequantizer: random valid blocks and rows of NaN, infinite, subnormal and
// zero scales (fixtures by tools/make_format_fixtures.py), ggml's tables (tools/make_ggml_grids.py), the
// storage cost of each type, and, where SPQR_GGUF_QUANTS names a folder of quantized files (llama-quantize
// or tools/ggml_requantize.cpp outputs), every tensor against digests of gguf-py's values
// (tools/gguf_reference_digests.py).

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore

@Suite("ggml low-bit types")
struct GGMLQuantTypesTests {
    static let types: [GGMLType] = [
        .Q2_K, .Q3_K, .IQ1_S, .IQ1_M, .IQ2_XXS, .IQ2_XS, .IQ2_S, .IQ3_XXS, .IQ3_S, .IQ4_NL,
        .IQ4_XS, .TQ1_0, .TQ2_0, .MXFP4, .NVFP4,
    ]

    /// Values equal bit for bit, any NaN matching any NaN (the payload is not part of the reference).
    static func differing(_ got: [Float], _ want: [Float]) -> Int {
        zip(got, want).filter { !($0.bitPattern == $1.bitPattern || ($0.isNaN && $1.isNaN)) }.count
    }

    @Test("dequantization equals gguf-py's bit for bit, special scales included", arguments: types)
    func dequantize(type: GGMLType) throws {
        let g = try GGUFFile(path: "\(fixtures)/quants-lowbit.gguf")
        let expected = try SafetensorsFile(path: "\(fixtures)/quants-lowbit-expected.safetensors")
        for name in [type.name.lowercased(), type.name.lowercased() + "_special"] {
            let t = try g.info(name)
            #expect(t.type == type)
            let got = try g.floats(name)
            let want = try expected.floats(name)
            #expect(got.count == want.count && got.count == t.elementCount)
            #expect(
                Self.differing(got, want) == 0, "\(name): \(Self.differing(got, want)) of \(got.count) values differ")
            if name.hasSuffix("_special") && ![.MXFP4, .NVFP4].contains(type) {
                // The special rows do reach NaN and infinity (so the comparison above covers them).
                #expect(got.contains { $0.isNaN } && got.contains { $0.isInfinite })
            }
        }
    }

    @Test("bits per weight are the block sizes of ggml-common.h")
    func bitsPerWeight() {
        let expected: [GGMLType: Double] = [
            .Q2_K: 2.625, .Q3_K: 3.4375, .IQ1_S: 1.5625, .IQ1_M: 1.75, .IQ2_XXS: 2.0625, .IQ2_XS: 2.3125,
            .IQ2_S: 2.5625,
            .IQ3_XXS: 3.0625, .IQ3_S: 3.4375, .IQ4_NL: 4.5, .IQ4_XS: 4.25, .TQ1_0: 1.6875, .TQ2_0: 2.0625, .MXFP4: 4.25,
            .NVFP4: 4.5,
        ]
        for type in Self.types {
            #expect(type.isSupported && type.isQuantized)
            #expect(type.bitsPerWeight == expected[type], "\(type)")
        }
    }

    @Test("every table has ggml-common.h's checksum and the length its index width addresses")
    func grids() {
        func digest<T>(_ a: [T]) -> String {
            var h = SHA256()
            a.withUnsafeBytes { h.update($0) }
            return h.hexDigest()
        }
        // (table, SHA-256 of its little-endian bytes, entries, index bits: the width of the field that indexes it)
        let tables: [(String, String, Int, Int)] = [
            (
                digest(GGMLGrids.ksigns), "a76742a603f8beca5212ecce0f1f02f11a4887fd2f7c8b15aca0ea3eb3380c31",
                GGMLGrids.ksigns.count, 7
            ),
            (
                digest(GGMLGrids.iq2xxs), "05826b5d3e472a3a78f196be62ac78acf81df0f909626e12ab9fa2a5d490dd54",
                GGMLGrids.iq2xxs.count, 8
            ),
            (
                digest(GGMLGrids.iq2xs), "06e47aaca60b4dc1d9b5a3f34540437058a6b142b4d7a59d5ded769b4d1bf1de",
                GGMLGrids.iq2xs.count, 9
            ),
            (
                digest(GGMLGrids.iq2s), "e1aa1473412b0552c2174c30ef22ab4073f6a181b85a17056e8249bd2932fd88",
                GGMLGrids.iq2s.count, 10
            ),
            (
                digest(GGMLGrids.iq3xxs), "46e35f5a997efdee6c99ce57854c8a0d4f0ff8ca57e5e8a60c0793ea580acf5d",
                GGMLGrids.iq3xxs.count, 8
            ),
            (
                digest(GGMLGrids.iq3s), "bd1af4945a1717c65610b0284e4628b9a1ba3b306fae3a06f6e5f597356e349f",
                GGMLGrids.iq3s.count, 9
            ),
            (
                digest(GGMLGrids.iq1s), "07540ffc1aeaf6ad4d97e96b0fcc765aae39671d4ae4a27bbd0e796fde167c6a",
                GGMLGrids.iq1s.count, 11
            ),
            (
                digest(GGMLGrids.kvaluesIQ4NL), "61aa47540aa024b5d6ddaa839b84ffe59f3d5a349af5c6c7ffcb5e0474b46163",
                GGMLGrids.kvaluesIQ4NL.count, 4
            ),
            (
                digest(GGMLGrids.kvaluesMXFP4), "adf76b672d47eb7fc0afd4db132d548d59d3190aa0ad118fdbf569d5fd478f97",
                GGMLGrids.kvaluesMXFP4.count, 4
            ),
        ]
        for (got, want, count, bits) in tables {
            #expect(got == want)
            #expect(count == 1 << bits)
        }
        // The structure the decoders rely on: ksigns carries even parity in bit 7, grid bytes are the
        // magnitudes each type's comment names.
        let ksignsParity = GGMLGrids.ksigns.enumerated().allSatisfy { (i: Int, s: UInt8) -> Bool in
            Int(s & 127) == i && s.nonzeroBitCount % 2 == 0
        }
        #expect(ksignsParity)
        func bytes<G: FixedWidthInteger>(_ grid: [G]) -> Set<UInt8> {
            Set(grid.flatMap { g in (0..<(G.bitWidth / 8)).map { UInt8(truncatingIfNeeded: g >> (8 * $0)) } })
        }
        #expect(bytes(GGMLGrids.iq2xxs + GGMLGrids.iq2xs + GGMLGrids.iq2s) == [8, 25, 43])
        let iq3xxsMagnitudes: Set<UInt8> = [4, 12, 20, 28, 36, 44, 52, 62]
        let iq3sMagnitudes: Set<UInt8> = [1, 3, 5, 7, 9, 11, 13, 15]
        #expect(bytes(GGMLGrids.iq3xxs) == iq3xxsMagnitudes)
        #expect(bytes(GGMLGrids.iq3s) == iq3sMagnitudes)
        #expect(bytes(GGMLGrids.iq1s) == [0xFF, 0, 1])
    }

    @Test(
        "any bytes decode: random blocks of every type give finite values when the scales are finite", arguments: types)
    func anyBytes(type: GGMLType) {
        var g = SeededGenerator(seed: 1 + UInt64(type.rawValue))
        let blocks = 64
        let count = blocks * type.blockSize
        var raw = (0..<(blocks * type.bytesPerBlock)).map { _ in UInt8.random(in: 0...255, using: &g) }
        // Finite fp16 scales where the type keeps one (every bit pattern elsewhere is a valid field).
        let offsets: [GGMLType: [Int]] = [.Q2_K: [80, 82], .Q3_K: [108], .TQ1_0: [52], .TQ2_0: [64]]
        for b in 0..<blocks {
            let at = b * type.bytesPerBlock
            for o in offsets[type] ?? ([.IQ1_M, .MXFP4, .NVFP4].contains(type) ? [] : [0]) {
                raw[at + o] = 0
                raw[at + o + 1] = 0x3C  // 1.0
            }
            if type == .MXFP4 { raw[at] = 127 }  // d = 0.5; e ≥ 254 gives d ≥ 2¹²⁶, which overflows to ±inf at ±12·d
            if type == .IQ1_M {
                // d = 1.0 (0x3C00) in the top nibbles of the four scale words (bytes 49, 51, 53, 55).
                for (k, nibble) in [UInt8(0), 0, 0xC, 0x3].enumerated() {
                    raw[at + 49 + 2 * k] = raw[at + 49 + 2 * k] & 0x0F | nibble << 4
                }
            }
        }
        let out = raw.withUnsafeBytes { GGMLDequantize.toFloat($0, type: type, count: count) }
        #expect(out.count == count && out.allSatisfy { $0.isFinite })
    }

    @Test("every value of every byte of a block decodes: no field indexes outside its table", arguments: types)
    func everyByte(type: GGMLType) {
        // The tables are bounds-checked arrays: an index out of range would trap and fail the run.
        var g = SeededGenerator(seed: 100 + UInt64(type.rawValue))
        let base = (0..<type.bytesPerBlock).map { _ in UInt8.random(in: 0...255, using: &g) }
        var block = base
        var out = [Float](repeating: 0, count: type.blockSize)
        var decoded = 0
        for position in 0..<type.bytesPerBlock {
            for value in 0...255 {
                block[position] = UInt8(value)
                block.withUnsafeBytes { b in
                    out.withUnsafeMutableBufferPointer { GGMLDequantize.block(b.baseAddress!, type, $0.baseAddress!) }
                }
                decoded += 1
            }
            block[position] = base[position]
        }
        #expect(decoded == type.bytesPerBlock * 256)
    }

    @Test(
        "a large tensor of a grid type splits over the cores and dequantizes every block exactly once",
        arguments: [GGMLType.IQ2_XS, .TQ1_0])
    func parallel(type: GGMLType) {
        var g = SeededGenerator(seed: 9)
        let blocks = (1 << 19) / type.blockSize + 5
        let count = blocks * type.blockSize
        let raw = (0..<(blocks * type.bytesPerBlock)).map { _ in UInt8.random(in: 0...255, using: &g) }
        let whole = raw.withUnsafeBytes { GGMLDequantize.toFloat($0, type: type, count: count) }
        var one = [Float](repeating: 0, count: count)
        raw.withUnsafeBytes { r in
            one.withUnsafeMutableBufferPointer { o in
                for b in 0..<blocks {
                    GGMLDequantize.block(
                        r.baseAddress! + b * type.bytesPerBlock, type, o.baseAddress! + b * type.blockSize)
                }
            }
        }
        #expect(Self.differing(whole, one) == 0)
    }

    static let realFiles = ProcessInfo.processInfo.environment["SPQR_GGUF_QUANTS"]

    @Test(
        "real quantized GGUF files: every 2-D weight is quantizable and every tensor equals gguf-py's",
        .enabled(
            if: realFiles != nil,
            "needs SPQR_GGUF_QUANTS: a folder of GGUF files with gguf-py-digests.json (tools/gguf_reference_digests.py)"
        ))
    func realFilesMatchGGUFPy() throws {
        let folder = try #require(Self.realFiles)
        let json = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: "\(folder)/gguf-py-digests.json")))
        let files = try #require((json as? [String: Any])?["files"] as? [String: [String: Any]])
        #expect(!files.isEmpty)
        var typesSeen = Set<GGMLType>()
        for (name, file) in files.sorted(by: { $0.key < $1.key }) {
            let path = "\(folder)/\(name)"
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int
            #expect(size == file["bytes"] as? Int, "\(name) is not the file the digests were made from")
            let checkpoint = try GGUFCheckpoint(path: path)
            for t in checkpoint.tensors where t.shape.count == 2 {
                #expect(t.notQuantizableReason == nil, "\(name): \(t.name): \(t.notQuantizableReason ?? "")")
            }
            let digests = try #require(file["tensors"] as? [String: [String: String]])
            #expect(digests.count == checkpoint.file.tensors.count)
            for t in checkpoint.file.tensors {
                typesSeen.insert(t.type)
                var h = SHA256()
                try checkpoint.file.floats(t.name).withUnsafeBytes { h.update($0) }
                #expect(
                    h.hexDigest() == digests[t.name]?["sha256"], "\(name): \(t.name) (\(t.type)) differs from gguf-py")
            }
        }
        print("real files: \(files.count), types: \(typesSeen.map(\.name).sorted().joined(separator: " "))")
    }
}
