// tokenizer.json reading: the vocabulary keeps canonically equivalent keys apart and decodes every JSON
// escape, and each unsupported or malformed file gets an error naming what was found.

import Foundation
import Testing

@testable import SpQRCore
@testable import SpQRModel

@Suite("tokenizer.json")
struct TokenizerJSONTests {
    @Test("vocabulary keys: escapes, surrogate pairs, and \"é\" / \"e\\u0301\" as two tokens")
    func vocabularyKeys() throws {
        let json =
            #"{"added_tokens": [{"content": "vocab"}], "model": {"type": "BPE", "vocab" : {"\u00e9": 0, "e\u0301": 1, "é": 2, "\ud83e\udd99": 3, "a\"b\\c\/\n\t": 4, "": 5}}}"#
        let entries = try JSONVocabulary.entries(Array(json.utf8), path: "t.json")
        #expect(entries.map(\.1) == [0, 1, 2, 3, 4, 5])
        #expect(
            entries.map { Array($0.0.unicodeScalars.map(\.value)) } == [
                [0xE9], [0x65, 0x301], [0xE9], [0x1F999], [0x61, 0x22, 0x62, 0x5C, 0x63, 0x2F, 0x0A, 0x09], [],
            ])
        let index = MergeTable.index(entries.map(\.0))
        #expect(index.count == 5)  // "é" twice (ids 0 and 2) is one text; the decomposed form is another
        #expect(throws: SpQRError.self) {
            try JSONVocabulary.entries(Array(#"{"vocab": {"a": 1, "b" 2}}"#.utf8), path: "t.json")
        }
        #expect(throws: SpQRError.self) {
            try JSONVocabulary.entries(Array(#"{"vocab": {"a": -1}}"#.utf8), path: "t.json")
        }
    }

    func message(_ json: String) throws -> String {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spqr-tokjson-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("tokenizer.json").path
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        do {
            _ = try Tokenizers.load(model: dir.path)
            return "no error"
        } catch let e as SpQRError {
            #expect(e.message.hasPrefix(path))
            return String(e.message.dropFirst(path.count + 2))
        }
    }

    static let bpe = #""model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}"#

    @Test("unsupported models, pre-tokenizers and normalizers are named with what is supported")
    func errors() throws {
        #expect(try message("[1, 2]") == "not a JSON object; expected a Hugging Face tokenizer.json")
        #expect(
            try message(#"{"model": {"type": "WordPiece", "vocab": {}}}"#).hasPrefix(
                #"model.type "WordPiece" is not supported (supported: BPE"#))
        #expect(
            try message("{\(Self.bpe), \"pre_tokenizer\": {\"type\": \"Whitespace\"}}")
                .hasPrefix("pre_tokenizer [Whitespace], normalizer [] is not supported (supported: ByteLevel alone"))
        #expect(
            try message(
                "{\(Self.bpe), \"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\w+\"}}, {\"type\": \"ByteLevel\", \"use_regex\": false}]}}"
            )
            .hasPrefix(
                #"the Split pattern \w+ is not one of the supported pre-tokenizers (gpt2, smollm, llama3, qwen2)"#))
        #expect(
            try message(
                "{\(Self.bpe), \"pre_tokenizer\": {\"type\": \"ByteLevel\"}, \"normalizer\": {\"type\": \"Lowercase\"}}"
            )
            .contains("only no normalizer or NFC is supported with ByteLevel"))
        #expect(
            try message("{\(Self.bpe), \"pre_tokenizer\": {\"type\": \"Metaspace\", \"split\": true}}").hasPrefix(
                "Metaspace with split = true is not supported"))
        #expect(
            try message(#"{"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [5]}}"#).hasPrefix(
                "model.merges entry 5 is neither"))
        #expect(
            try message(#"{"model": {"type": "BPE", "vocab": {"a": 99999999999}}}"#)
                == "token id 99999999999 is far beyond the 1 tokens the file defines; the file is damaged")
        #expect(
            try message(#"{"added_tokens": [{"id": -1, "content": "x"}], "model": {"type": "BPE", "vocab": {"a": 0}}}"#)
                == "an added_tokens entry lacks a non-negative id or its content")
    }
}
