// What a tokenizer is, independent of the file it came from: the vocabulary, how pieces merge, how text is
// split before merging, the tokens matched verbatim, and what encoding adds around the ids. Both readers
// (GGUFTokenizerMetadata, HuggingFaceTokenizerFile) produce one; BPETokenizer runs it.

import Foundation

/// A token matched verbatim in the text before any splitting (Hugging Face's added tokens; llama.cpp's
/// control and user-defined tokens).
struct AddedToken: Sendable {
    let id: Int
    let content: [UInt8]
    /// Whether the match also takes the whitespace before it (Hugging Face `lstrip`) or after it (`rstrip`).
    var lstrip = false, rstrip = false
}

/// Where SentencePiece's dummy prefix "▁" goes. `always`: before every piece of text between added tokens
/// (Hugging Face's Prepend normalizer, which runs per piece, as in LLaMA-2's tokenizer.json; llama.cpp's
/// `add_space_prefix`, which prefixes the text at the start and after each added token: the same
/// pieces). `metaspaceFirst` / `metaspaceAlways`: Hugging Face's Metaspace pre-tokenizer with
/// `prepend_scheme` "first" (only a piece at the very start of the text) or "always", which both leave
/// a piece that already begins with a space as it is.
enum SpacePrefix: String, Sendable { case none, always, metaspaceFirst, metaspaceAlways }

/// The tokenizer models this project implements.
enum TokenizerModel: Sendable {
    /// GPT-2 style: UTF-8 bytes mapped to printable characters, split by `PreTokenizer`, merged by rank.
    case byteLevel(PreTokenizer)
    /// SentencePiece BPE: spaces become "▁", no pre-splitting, characters merged by priority, characters
    /// outside the vocabulary become <0xNN> byte tokens.
    case sentencePiece(SpacePrefix)
}

/// How two adjacent pieces merge: the merged token and its priority (lower merges first).
struct MergeRule: Sendable {
    let priority: Double
    let result: Int32
}

/// A complete tokenizer description.
struct TokenizerDefinition: Sendable {
    var model: TokenizerModel
    /// Token texts by id, as stored (byte-level: mapped characters; SentencePiece: with "▁").
    var tokens: [String]
    /// Merges keyed by `MergeTable.key(left, right)`.
    var merges: [UInt64: MergeRule]
    /// Tokens matched verbatim before splitting.
    var added: [AddedToken]
    var bos: Int?, eos: Int?, unknown: Int?
    /// Ids `encode` puts before and after the text's ids (the model's post-processor).
    var prefix: [Int] = [], suffix: [Int] = []
    /// Hugging Face `ignore_merges` (LLaMA-3): a pre-token that is itself a token is not merged.
    var ignoreMerges = false
    /// Apply Unicode NFC before splitting (Qwen2's tokenizer.json normalizer).
    var nfc = false
    /// Where the definition came from, for messages.
    var source: String
}

/// Building merge tables from the two ways models state them.
enum MergeTable {
    static let maximumPieceBytes = 256

    static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// Byte-wise index of token texts (Swift's String equality is canonical equivalence, which would merge
    /// distinct tokens such as "é" and "e\u{301}").
    static func index(_ tokens: [String]) -> [[UInt8]: Int32] {
        var index: [[UInt8]: Int32] = [:]
        index.reserveCapacity(tokens.count)
        for (i, t) in tokens.enumerated() where index[Array(t.utf8)] == nil { index[Array(t.utf8)] = Int32(i) }
        return index
    }

    /// From an ordered merge list ("a b" pairs): rank = position in the list; pairs naming texts that are not
    /// tokens are left out, as both llama.cpp and Hugging Face do.
    static func fromRanks(_ pairs: [(String, String)], index: [[UInt8]: Int32]) -> [UInt64: MergeRule] {
        var table: [UInt64: MergeRule] = [:]
        table.reserveCapacity(pairs.count)
        for (rank, (a, b)) in pairs.enumerated() {
            guard let l = index[Array(a.utf8)], let r = index[Array(b.utf8)],
                let m = index[Array(a.utf8) + Array(b.utf8)]
            else { continue }
            let k = key(l, r)
            if table[k] == nil { table[k] = MergeRule(priority: Double(rank), result: m) }
        }
        return table
    }

    /// From SentencePiece scores: any two pieces whose concatenation is a mergeable piece merge into it,
    /// higher score first (llama.cpp's llm_tokenizer_spm). Every split of every mergeable piece at a
    /// character boundary is a candidate pair. Pieces over `maximumPieceBytes` are left out (SentencePiece
    /// pieces are at most 16 characters by default; a longer one would cost time quadratic in its length).
    static func fromScores(_ tokens: [String], scores: [Float], mergeable: (Int) -> Bool, index: [[UInt8]: Int32])
        -> [UInt64: MergeRule]
    {
        var table: [UInt64: MergeRule] = [:]
        for (i, t) in tokens.enumerated() where mergeable(i) {
            let bytes = Array(t.utf8)
            guard bytes.count > 1 && bytes.count <= maximumPieceBytes else { continue }
            for cut in 1..<bytes.count where bytes[cut] & 0xC0 != 0x80 {
                guard let l = index[Array(bytes[..<cut])], let r = index[Array(bytes[cut...])] else { continue }
                table[key(l, r)] = MergeRule(priority: -Double(scores[i]), result: Int32(i))
            }
        }
        return table
    }
}
