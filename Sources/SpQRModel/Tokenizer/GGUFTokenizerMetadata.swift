// A tokenizer from GGUF metadata, with llama.cpp's keys and defaults (llama-vocab.cpp, gguf-py
// constants.py):
//   tokenizer.ggml.model        "gpt2" (byte-level BPE) or "llama" (SentencePiece BPE)
//   tokenizer.ggml.tokens       [string]; .token_type [i32] 1 normal 2 unknown 3 control 4 user-defined
//                               5 unused 6 byte; .scores [f32] (SentencePiece); .merges ["a b"] (BPE)
//   tokenizer.ggml.pre          the pre-tokenizer name (BPE), see PreTokenizer.ggufNames
//   tokenizer.ggml.{bos,eos,unknown}_token_id, .add_bos_token, .add_eos_token, .add_space_prefix
// Unknown, control and user-defined tokens are matched verbatim in the text (llama.cpp's special-token cache). BOS is added when add_bos_token
// says so; without the key llama.cpp adds it for SentencePiece and for the llama3 pre-tokenizer.

import SpQRCore

enum GGUFTokenizerMetadata {
    static let supportedModels = "\"gpt2\" (byte-level BPE) and \"llama\" (SentencePiece BPE)"

    static func definition(_ file: GGUFFile) throws -> TokenizerDefinition {
        let m = file.metadata
        func fail(_ s: String) -> SpQRError { SpQRError(.unsupported, "\(file.path): \(s)") }
        guard let model = m["tokenizer.ggml.model"]?.stringValue else {
            let found = m.keys.filter { $0.hasPrefix("tokenizer.") }.sorted()
            throw fail(
                "no tokenizer.ggml.model in the GGUF metadata (found \(found.isEmpty ? "no tokenizer.* keys" : found.joined(separator: ", "))); a GGUF tokenizer needs tokenizer.ggml.model = \(supportedModels) with its tokens"
            )
        }
        guard let tokens = m["tokenizer.ggml.tokens"]?.arrayValue?.strings, !tokens.isEmpty else {
            throw fail(
                "tokenizer.ggml.model is \"\(model)\" but tokenizer.ggml.tokens is missing, empty or not an array of strings"
            )
        }
        let n = tokens.count
        func ints(_ key: String) throws -> [Int]? {
            guard let v = m[key] else { return nil }
            guard let a = v.arrayValue, a.count == n else {
                throw fail("\(key) must be an array of \(n) values, one per token")
            }
            return try a.values.map {
                guard let i = $0.intValue else { throw fail("\(key) holds a non-integer value") }
                return i
            }
        }
        func id(_ key: String) throws -> Int? {
            guard let v = m[key] else { return nil }
            guard let i = v.intValue, i >= 0, i < n else { throw fail("\(key) = \(v) is not a token id (0..<\(n))") }
            return i
        }
        func flag(_ key: String) -> Bool? { if case .bool(let b)? = m[key] { return b } else { return nil } }

        let types = try ints("tokenizer.ggml.token_type") ?? Array(repeating: 1, count: n)
        let added = types.enumerated().filter { (2...4).contains($0.element) }.map {
            AddedToken(id: $0.offset, content: Array(tokens[$0.offset].utf8))
        }
        let index = MergeTable.index(tokens)
        var d: TokenizerDefinition
        let bosByDefault: Bool
        switch model {
        case "gpt2":
            let name = m["tokenizer.ggml.pre"]?.stringValue ?? "(none)"
            guard let pre = PreTokenizer.ggufNames[name] else {
                throw fail(
                    "tokenizer.ggml.pre = \"\(name)\" is not a supported pre-tokenizer (supported: \(PreTokenizer.ggufNames.keys.sorted().joined(separator: ", ")))"
                )
            }
            guard let list = m["tokenizer.ggml.merges"]?.arrayValue?.strings else {
                throw fail(
                    "a \"gpt2\" tokenizer needs tokenizer.ggml.merges (an array of \"left right\" strings); it is missing"
                )
            }
            let pairs = try list.map { line -> (String, String) in
                guard let sp = line.firstIndex(of: " ") else {
                    throw fail("tokenizer.ggml.merges entry \"\(line)\" has no space between its two parts")
                }
                return (String(line[..<sp]), String(line[line.index(after: sp)...]))
            }
            d = TokenizerDefinition(
                model: .byteLevel(pre), tokens: tokens, merges: MergeTable.fromRanks(pairs, index: index),
                added: added, source: file.path)
            d.ignoreMerges = pre == .llama3
            bosByDefault = pre == .llama3
        case "llama":
            guard let scores = m["tokenizer.ggml.scores"]?.arrayValue?.values.compactMap(\.doubleValue),
                scores.count == n
            else {
                throw fail(
                    "a \"llama\" (SentencePiece) tokenizer needs tokenizer.ggml.scores, one number per token; it is missing or the wrong length"
                )
            }
            let merges = MergeTable.fromScores(
                tokens, scores: scores.map { Float($0) }, mergeable: { types[$0] == 1 }, index: index)
            let space = flag("tokenizer.ggml.add_space_prefix") ?? true
            d = TokenizerDefinition(
                model: .sentencePiece(space ? .always : .none), tokens: tokens, merges: merges,
                added: added, source: file.path)
            bosByDefault = true
        default:
            throw fail("tokenizer.ggml.model = \"\(model)\" is not supported (supported: \(supportedModels))")
        }
        d.bos = try id("tokenizer.ggml.bos_token_id")
        d.eos = try id("tokenizer.ggml.eos_token_id")
        d.unknown = try id("tokenizer.ggml.unknown_token_id")
        if flag("tokenizer.ggml.add_bos_token") ?? bosByDefault, let bos = d.bos { d.prefix = [bos] }
        if flag("tokenizer.ggml.add_eos_token") ?? false, let eos = d.eos { d.suffix = [eos] }
        return d
    }
}
