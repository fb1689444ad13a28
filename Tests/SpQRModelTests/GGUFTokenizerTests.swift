// Tokenizers from hand-written GGUF metadata: a byte-level and a SentencePiece vocabulary small enough to
// work the expected ids out by hand, the defaults llama.cpp applies when keys are absent, and a specific
// error for each kind of missing or unsupported metadata.

import Foundation
import SpQRTestSupport
import Testing

@testable import SpQRCore
@testable import SpQRModel

/// GGUF metadata values for hand-built test files.
enum Meta {
    case string(String), strings([String]), int32s([Int32]), floats([Float]), bool(Bool), uint32(UInt32)

    private static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] {
        withUnsafeBytes(of: v.littleEndian) { Array($0) }
    }
    private static func str(_ s: String) -> [UInt8] { le(UInt64(s.utf8.count)) + Array(s.utf8) }

    /// Type code and value bytes (gguf.md: 4 u32, 5 i32, 6 f32, 7 bool, 8 string, 9 array).
    var encoded: [UInt8] {
        switch self {
        case .string(let s): return Self.le(UInt32(8)) + Self.str(s)
        case .strings(let a):
            return Self.le(UInt32(9)) + Self.le(UInt32(8)) + Self.le(UInt64(a.count)) + a.flatMap(Self.str)
        case .int32s(let a):
            return Self.le(UInt32(9)) + Self.le(UInt32(5)) + Self.le(UInt64(a.count)) + a.flatMap { Self.le($0) }
        case .floats(let a):
            return Self.le(UInt32(9)) + Self.le(UInt32(6)) + Self.le(UInt64(a.count))
                + a.flatMap { Self.le($0.bitPattern) }
        case .bool(let b): return Self.le(UInt32(7)) + [b ? 1 : 0]
        case .uint32(let v): return Self.le(UInt32(4)) + Self.le(v)
        }
    }

    /// The tokenizer of a tensor-less GGUF file with `metadata` (the file is removed once it is read).
    static func load(_ metadata: [String: Meta]) throws -> any TextTokenizer {
        let path = try file(metadata)
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try Tokenizers.load(model: path)
    }

    /// Writes a tensor-less GGUF file with `metadata` and returns its path.
    static func file(_ metadata: [String: Meta]) throws -> String {
        var bytes = Array("GGUF".utf8) + le(UInt32(3)) + le(UInt64(0)) + le(UInt64(metadata.count))
        for (k, v) in metadata.sorted(by: { $0.key < $1.key }) { bytes += str(k) + v.encoded }
        let path = scratchFile("spqr-tok", suffix: ".gguf")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

@Suite("GGUF tokenizer metadata")
struct GGUFTokenizerTests {
    /// Byte-level: the 256 byte characters, then "Ġt", "he", "Ġthe" (merge ranks 0, 1, 2) and a control token.
    static let byteTokens = ByteLevel.characters.map { String($0) }
    static func byteLevel(_ extra: [String: Meta] = [:]) -> [String: Meta] {
        let tokens = byteTokens + ["Ġt", "he", "Ġthe", "<|end|>"]
        return [
            "tokenizer.ggml.model": .string("gpt2"), "tokenizer.ggml.pre": .string("smollm"),
            "tokenizer.ggml.tokens": .strings(tokens),
            "tokenizer.ggml.token_type": .int32s(Array(repeating: 1, count: 259) + [3]),
            "tokenizer.ggml.merges": .strings(["Ġ t", "h e", "Ġt he"]),
            "tokenizer.ggml.eos_token_id": .uint32(259),
        ].merging(extra) { $1 }
    }

    /// SentencePiece: <unk> <s> </s>, 256 byte tokens, then "▁" "a" "b" "▁a" "ab" "▁ab" scored so that
    /// "▁a" (-1) merges before "ab" (-2).
    static func sentencePiece(_ extra: [String: Meta] = [:]) -> [String: Meta] {
        let pieces = ["\u{2581}", "a", "b", "\u{2581}a", "ab", "\u{2581}ab"]
        let tokens = ["<unk>", "<s>", "</s>"] + (0..<256).map { String(format: "<0x%02X>", $0) } + pieces
        return [
            "tokenizer.ggml.model": .string("llama"), "tokenizer.ggml.tokens": .strings(tokens),
            "tokenizer.ggml.scores": .floats([0, 0, 0] + Array(repeating: 0, count: 256) + [-5, -6, -7, -1, -2, -3]),
            "tokenizer.ggml.token_type": .int32s(
                [2, 3, 3] + Array(repeating: 6, count: 256) + Array(repeating: 1, count: 6)),
            "tokenizer.ggml.bos_token_id": .uint32(1), "tokenizer.ggml.eos_token_id": .uint32(2),
            "tokenizer.ggml.unknown_token_id": .uint32(0),
        ].merging(extra) { $1 }
    }

    @Test("byte-level: merges by rank, digits split one by one, control tokens matched, no BOS by default")
    func byteLevelIDs() throws {
        let t = try Meta.load(Self.byteLevel())
        // Token b is byte b's character; " 12" is split as " ", "1", "2" (smollm), " the" merges fully.
        #expect(t.encode("the the<|end|> 12") == [0x74, 257, 258, 259, 0x20, 0x31, 0x32])
        #expect(t.decode(t.encode("the the<|end|> 12")) == "the the<|end|> 12")
        #expect(t.bosTokenID == nil && t.eosTokenID == 259 && t.vocabularySize == 260)
    }

    @Test("SentencePiece: the higher score merges first, unknown characters fall back to bytes, BOS by default")
    func sentencePieceIDs() throws {
        let t = try Meta.load(Self.sentencePiece())
        // "ab ab" → "▁ab▁ab": "▁a" (-1) beats "ab" (-2), then "▁ab" (-3); "é" is bytes C3 A9.
        #expect(t.encode("ab ab") == [1, 264, 264])
        #expect(t.encode("é") == [1, 259, 3 + 0xC3, 3 + 0xA9])
        // As Hugging Face's decoder: only a space at the very start is dropped, not one after "<s>".
        #expect(t.decode([1, 264, 264, 3 + 0xC3, 3 + 0xA9]) == "<s> ab abé")
        #expect(t.decode([264, 264]) == "ab ab")
        let noBOS = try Meta.load(
            Self.sentencePiece([
                "tokenizer.ggml.add_bos_token": .bool(false),
                "tokenizer.ggml.add_space_prefix": .bool(false),
            ]))
        // "ab▁ab": "▁a" (-1), then the leftmost "ab" (-2), then "▁a"+"b" = "▁ab" (-3).
        #expect(noBOS.encode("ab ab") == [263, 264])
    }

    @Test("missing or unsupported metadata is named with what is supported")
    func errors() throws {
        func message(_ m: [String: Meta]) throws -> String {
            let path = try Meta.file(m)
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                _ = try Tokenizers.load(model: path)
                return "no error"
            } catch let e as SpQRError {
                #expect(e.message.hasPrefix(path))
                return String(e.message.dropFirst(path.count + 2))
            }
        }
        var m = Self.byteLevel()
        m["tokenizer.ggml.model"] = nil
        #expect(
            try message(m).hasPrefix(
                "no tokenizer.ggml.model in the GGUF metadata (found tokenizer.ggml.eos_token_id, tokenizer.ggml.merges,"
            ))
        #expect(try message(["general.architecture": .string("llama")]).contains("(found no tokenizer.* keys)"))
        #expect(
            try message(Self.byteLevel(["tokenizer.ggml.model": .string("bert")]))
                == #"tokenizer.ggml.model = "bert" is not supported (supported: "gpt2" (byte-level BPE) and "llama" (SentencePiece BPE))"#
        )
        #expect(
            try message(Self.byteLevel(["tokenizer.ggml.pre": .string("falcon")])).hasPrefix(
                #"tokenizer.ggml.pre = "falcon" is not a supported pre-tokenizer (supported: codeshell,"#))
        m = Self.byteLevel()
        m["tokenizer.ggml.merges"] = nil
        #expect(try message(m).contains("needs tokenizer.ggml.merges"))
        #expect(
            try message(Self.byteLevel(["tokenizer.ggml.merges": .strings(["Ġt"])])).contains(
                #"entry "Ġt" has no space"#))
        #expect(
            try message(Self.byteLevel(["tokenizer.ggml.token_type": .int32s([1])]))
                == "tokenizer.ggml.token_type must be an array of 260 values, one per token")
        #expect(
            try message(Self.byteLevel(["tokenizer.ggml.eos_token_id": .uint32(999)]))
                == "tokenizer.ggml.eos_token_id = uint(999) is not a token id (0..<260)")
        #expect(
            try message(Self.sentencePiece(["tokenizer.ggml.scores": .floats([0])])).contains(
                "needs tokenizer.ggml.scores, one number per token"))
    }
}
