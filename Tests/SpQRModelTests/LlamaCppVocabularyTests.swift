// llama.cpp's tokenizer test suite (tests/test-tokenizer-0.cpp): for each vocabulary-only
// models/ggml-vocab-<name>.gguf, the texts of <name>.gguf.inp (separated by "\n__ggml_vocab_test__\n")
// and the ids llama.cpp gives them in <name>.gguf.out (one line each), tokenized with no BOS/EOS and no
// matching of special tokens. Runs where $SPQR_LLAMA_CPP_DIR points at a llama.cpp checkout (the
// llama-cpp-python sdist's vendor/llama.cpp has the files).

import Foundation
import Testing

@testable import SpQRCore
@testable import SpQRModel

@Suite("llama.cpp vocabulary tests")
struct LlamaCppVocabularyTests {
    /// The vocabularies whose tokenizer kind this project implements.
    static let supported = ["gpt-2", "llama-bpe", "llama-spm", "qwen2", "starcoder", "refact", "command-r", "phi-3"]

    static func cases(_ name: String, in dir: String) throws -> [(text: String, ids: [Int])] {
        let base = "\(dir)/ggml-vocab-\(name).gguf"
        let inp = try String(contentsOfFile: base + ".inp", encoding: .utf8)
        let out = try String(contentsOfFile: base + ".out", encoding: .utf8)
        let texts = inp.components(separatedBy: "\n__ggml_vocab_test__\n")
        var lines = out.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        let ids = lines.map { $0.split(separator: " ").map { Int($0)! } }
        // The .inp file ends with a separator line, so its last piece is empty or a lone newline.
        return Array(zip(texts, ids))
    }

    @Test("ids identical to llama.cpp's on every test text", arguments: supported)
    func vocabulary(name: String) throws {
        guard let dir = llamaCppModels else {
            print("skipped: SPQR_LLAMA_CPP_DIR is not set to a llama.cpp checkout with models/ggml-vocab-*.gguf")
            return
        }
        let tokenizer = try #require(try Tokenizers.load(model: "\(dir)/ggml-vocab-\(name).gguf") as? BPETokenizer)
        let cases = try Self.cases(name, in: dir)
        #expect(cases.count > 30)
        var failed = 0
        for (text, ids) in cases {
            let got = tokenizer.encode(text, addSpecial: false, parseSpecial: false)
            if got != ids {
                failed += 1
                Issue.record("\(name): \(text.debugDescription) gave \(got), llama.cpp \(ids)")
            }
        }
        print("\(name): \(cases.count - failed) of \(cases.count) texts identical")
    }

    @Test("every other vocabulary with test texts is refused as unsupported, naming what it found")
    func others() throws {
        guard let dir = llamaCppModels else {
            print("skipped: SPQR_LLAMA_CPP_DIR is not set to a llama.cpp checkout with models/ggml-vocab-*.gguf")
            return
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: dir)
            .filter {
                $0.hasPrefix("ggml-vocab-") && $0.hasSuffix(".gguf")
                    && FileManager.default.fileExists(atPath: "\(dir)/\($0).inp")
            }
            .map { String($0.dropFirst("ggml-vocab-".count).dropLast(".gguf".count)) }
        #expect(Set(Self.supported).isSubset(of: names))
        for name in names.sorted() where !Self.supported.contains(name) {
            do {
                _ = try Tokenizers.load(model: "\(dir)/ggml-vocab-\(name).gguf")
                Issue.record("\(name) loads but is not in the checked list")
            } catch let e as SpQRError {
                #expect(
                    e.kind == .unsupported && e.message.contains("not a supported pre-tokenizer")
                        || e.message.contains("is not supported"), "\(name): \(e.message)")
            }
        }
    }
}
