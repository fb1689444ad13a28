// The tokenizers against Hugging Face's: every text of Fixtures/tokenizer-texts.json, and 120 seeded
// random texts, must give the ids and decoded text that transformers gives (Fixtures/tokenizer-expected.json, written by
// tools/make_tokenizer_fixtures.py). The tiny tokenizers are committed; the SmolLM2 and LLaMA ones are
// read from the model files and the cache the script fills, and skip with the reason when absent.

import Foundation
import Testing

@testable import SpQRModel

@Suite("Hugging Face agreement")
struct HuggingFaceTokenizerTests {
    struct Expected: Decodable {
        let ids: [[Int]], decoded: [String]
        let random_ids: [[Int]], random_decoded: [String]
    }

    static let texts: [String] = {
        let data = FileManager.default.contents(atPath: "\(modelFixtures)/tokenizer-texts.json")!
        return (try! JSONSerialization.jsonObject(with: data) as! [String: Any])["texts"] as! [String]
    }()
    struct File: Decodable {
        /// Seeded random concatenations of tricky fragments (see the script).
        let random_texts: [String]
        let tokenizers: [String: Expected]
    }
    static let file = try! JSONDecoder().decode(
        File.self, from: FileManager.default.contents(atPath: "\(modelFixtures)/tokenizer-expected.json")!)
    static var randomTexts: [String] { file.random_texts }
    static var expected: [String: Expected] { file.tokenizers }

    /// Where the tokenizer.json files the script saves from the GGUF files are: $SPQR_TOKENIZER_CACHE, else
    /// ~/.cache/spqr-explorer/tokenizers.
    static let cache =
        ProcessInfo.processInfo.environment["SPQR_TOKENIZER_CACHE"]
        ?? (ProcessInfo.processInfo.environment["XDG_CACHE_HOME"] ?? NSHomeDirectory() + "/.cache")
        + "/spqr-explorer/tokenizers"

    /// Each case: the model file to load (nil: skip, with the reason) and the reference it must equal.
    static func source(_ name: String) -> (path: String?, reference: String, missing: String) {
        let cached = { (dir: String) -> String? in
            FileManager.default.fileExists(atPath: "\(cache)/\(dir)/tokenizer.json") ? "\(cache)/\(dir)" : nil
        }
        let script = "run tools/make_tokenizer_fixtures.py with --smollm2 and --llama-cpp (or set SPQR_TOKENIZER_CACHE)"
        switch name {
        // A GGUF file is read as llama.cpp reads it, which is the model's own tokenizer.json (see the script).
        case "smollm2-gguf": return (smolLM2GGUF, "smollm2-original", smolLM2Missing)
        case "smollm2-json": return (cached("smollm2"), name, "no \(cache)/smollm2/tokenizer.json: \(script)")
        case "smollm2-original": return (cached(name), name, "no \(cache)/\(name)/tokenizer.json: \(script)")
        case "llama-spm-metaspace", "llama-spm-legacy":
            return (cached(name), name, "no \(cache)/\(name)/tokenizer.json: \(script)")
        case "llama-spm-gguf":
            return (
                llamaCppModels.map { "\($0)/ggml-vocab-llama-spm.gguf" }, "llama-spm-legacy",
                "SPQR_LLAMA_CPP_DIR is not set to a llama.cpp checkout with models/ggml-vocab-llama-spm.gguf"
            )
        default: return ("\(modelFixtures)/\(name)", name, "")
        }
    }

    static let names = [
        "tiny-smollm", "tiny-llama3", "tiny-qwen2", "tiny-spm-legacy", "tiny-spm-metaspace",
        "smollm2-gguf", "smollm2-json", "smollm2-original", "llama-spm-metaspace", "llama-spm-legacy", "llama-spm-gguf",
    ]

    @Test("ids and decoded text identical to transformers' on every fixture text", arguments: names)
    func agreement(name: String) throws {
        let (path, reference, missing) = Self.source(name)
        guard let path else {
            print("skipped \(name): \(missing)")
            return
        }
        let want = try #require(
            Self.expected[reference],
            "tokenizer-expected.json has no \(reference): rerun tools/make_tokenizer_fixtures.py with its inputs")
        let tokenizer = try Tokenizers.load(model: path)
        #expect(want.ids.count == Self.texts.count)
        var same = 0
        let cases =
            Array(zip(Self.texts, zip(want.ids, want.decoded)))
            + Array(zip(Self.randomTexts, zip(want.random_ids, want.random_decoded)))
        for (i, (text, (wantIDs, wantText))) in cases.enumerated() {
            let ids = tokenizer.encode(text)
            if ids == wantIDs {
                same += 1
            } else {
                Issue.record("\(name) text \(i) \(text.debugDescription): \(ids) instead of \(wantIDs)")
            }
            let decoded = tokenizer.decode(wantIDs)
            #expect(
                decoded == wantText,
                "\(name) text \(i): decoded \(decoded.debugDescription) instead of \(wantText.debugDescription)")
        }
        #expect(cases.count == Self.texts.count + Self.randomTexts.count)
        print("\(name): \(same) of \(cases.count) texts give transformers' ids")
    }

    /// transformers converts a GGUF tokenizer differently from the model's own tokenizer.json and from
    /// llama.cpp: SmolLM2 loses its Digits pre-tokenizer (a space then joins a following "½" or "²"), LLaMA
    /// gets Metaspace(prepend_scheme "first"), which adds no "▁" before a text that starts with a space or
    /// follows an added token. These are the only fixture texts where that shows.
    @Test(
        "the fixture texts where transformers' own GGUF conversion differs are exactly the known ones",
        arguments: [
            ("smollm2-gguf", "smollm2-original", [6]), ("llama-spm-metaspace", "llama-spm-legacy", [1, 3, 4, 14]),
        ])
    func transformersConversion(converted: String, original: String, differing: [Int]) throws {
        guard let a = Self.expected[converted], let b = Self.expected[original] else {
            print("skipped: tokenizer-expected.json lacks \(converted) or \(original)")
            return
        }
        #expect(Self.texts.indices.filter { a.ids[$0] != b.ids[$0] } == differing)
    }
}
