// spqr-explorer tokenize, end to end on the committed tiny tokenizers: the ids equal transformers' (the
// same expectations as the SpQRModel tests), the summary counts them, bad input gets a specific error.

import Foundation
import Testing

@Suite("tokenize command")
struct TokenizeCommandTests {
    static let fixtures = BinaryRunner.packageRoot.appendingPathComponent("Tests/SpQRModelTests/Fixtures").path

    /// Runs `tokenize MODEL --text FILE` + `options` with `text` in a temporary file, removed afterwards.
    static func tokenize(_ model: String, _ text: String, _ options: [String]) throws -> BinaryRun {
        let dir = try HeadlessCommandsTests.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("text.txt").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        return try BinaryRunner.run(["tokenize", model, "--text", path] + options)
    }

    static func expected(_ name: String, text index: Int) throws -> (String, [Int]) {
        let texts = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/tokenizer-texts.json"))) as? [String: Any])
        let all = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: "\(fixtures)/tokenizer-expected.json"))) as? [String: Any])
        let ids = try #require(
            (((all["tokenizers"] as? [String: Any])?[name] as? [String: Any])?["ids"] as? [[Int]])?[index])
        return (try #require((texts["texts"] as? [String])?[index]), ids)
    }

    @Test("--json prints transformers' ids and their count", arguments: ["tiny-smollm", "tiny-spm-legacy"])
    func json(name: String) throws {
        let (text, ids) = try Self.expected(name, text: 13)
        let r = try Self.tokenize("\(Self.fixtures)/\(name)", text, ["--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let out = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(out["ids"] as? [Int] == ids)
        #expect(out["n_tokens"] as? Int == ids.count)
    }

    @Test("the summary gives the count, tokens per character and the first pieces")
    func summary() throws {
        let (text, ids) = try Self.expected("tiny-spm-legacy", text: 2)  // "Hello world"
        let r = try Self.tokenize("\(Self.fixtures)/tiny-spm-legacy/tokenizer.json", text, ["--show", "3"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(
            r.stdout.contains(
                "tokens     \(ids.count) (\(String(format: "%.3f", Double(ids.count) / 11)) per character)"))
        #expect(r.stdout.contains("SentencePiece BPE") && r.stdout.contains("<s> (1) added before the text"))
        #expect(r.stdout.contains("first 3 tokens:") && r.stdout.contains("\"<s>\""))
    }

    @Test("unsupported or missing tokenizers and non-UTF-8 text are named in the error")
    func errors() throws {
        let dir = try HeadlessCommandsTests.tempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.txt").path
        try Data([0x61, 0x62, 0xFF, 0x63]).write(to: URL(fileURLWithPath: bad))
        let r1 = try BinaryRunner.run(["tokenize", "\(Self.fixtures)/tiny-smollm", "--text", bad])
        #expect(r1.status == 1 && r1.stderr.contains("not valid UTF-8 (first invalid byte at offset 2)"))
        let r2 = try BinaryRunner.run(["tokenize", dir.path, "--text", bad])
        #expect(r2.status == 1 && r2.stderr.contains("no tokenizer.json in this directory"))
        let unigram = dir.appendingPathComponent("tokenizer.json").path
        try Data(#"{"model": {"type": "Unigram", "vocab": [["a", 0.0]]}}"#.utf8).write(
            to: URL(fileURLWithPath: unigram))
        let r3 = try BinaryRunner.run(["tokenize", unigram, "--text", bad])
        #expect(r3.status == 1 && r3.stderr.contains("model.type \"Unigram\" is not supported (supported: BPE"))
    }
}
