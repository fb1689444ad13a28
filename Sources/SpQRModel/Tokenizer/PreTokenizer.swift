// The splits byte-level BPE tokenizers make before merging, written out by hand over Unicode scalars (as
// llama.cpp's unicode.cpp does for the same patterns) instead of through a regex engine. The patterns:
//
//   gpt2    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   smollm  \p{N} split off one character at a time (Hugging Face `Digits(individual_digits)`), then gpt2
//   llama3  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   qwen2   llama3 with \p{N} instead of \p{N}{1,3}
//
// Sources: the ByteLevel and Split pre-tokenizers in the models' tokenizer.json files, and
// `llama_vocab::impl::load` (llama-vocab.cpp), which names them by `tokenizer.ggml.pre`.
// \p{L} is general category L*, \p{N} is N*, \s is the White_Space property.

/// A pre-tokenizer: how text is cut into words before BPE merging.
enum PreTokenizer: String, Sendable, CaseIterable {
    case gpt2, smollm, llama3, qwen2

    /// The llama.cpp `tokenizer.ggml.pre` names of each kind (llama-vocab.cpp).
    static let ggufNames: [String: PreTokenizer] = [
        "gpt-2": .gpt2, "gpt2": .gpt2, "phi-2": .gpt2, "jina-es": .gpt2, "jina-de": .gpt2, "gigachat": .gpt2,
        "jina-v2-es": .gpt2, "jina-v2-de": .gpt2,
        "smollm": .smollm, "starcoder": .smollm, "refact": .smollm, "command-r": .smollm, "codeshell": .smollm,
        "exaone": .smollm, "minerva-7b": .smollm,
        "llama3": .llama3, "llama-v3": .llama3, "llama-bpe": .llama3, "falcon3": .llama3,
        "qwen2": .qwen2, "deepseek-r1-qwen": .qwen2, "megrez": .qwen2,
    ]

    /// The Split pattern of each kind as tokenizer.json writes it.
    static let splitPatterns: [String: PreTokenizer] = [
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#:
            .llama3,
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#:
            .qwen2,
        #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#: .gpt2,
    ]

    private struct Flags: OptionSet {
        let rawValue: UInt8
        static let letter = Flags(rawValue: 1), number = Flags(rawValue: 2), space = Flags(rawValue: 4)
        static let other: Flags = []
    }

    private static func flags(_ s: Unicode.Scalar) -> Flags {
        let p = s.properties
        if p.isWhitespace { return .space }
        switch p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// The words of `text`, as ranges of scalar offsets, in order and covering all of it.
    func split(_ scalars: [Unicode.Scalar]) -> [Range<Int>] {
        let f = scalars.map(Self.flags)
        var out: [Range<Int>] = []
        if self == .smollm {
            var start = 0
            for i in scalars.indices where f[i] == .number {
                if start < i { split(scalars, f, start..<i, into: &out) }
                out.append(i..<(i + 1))
                start = i + 1
            }
            if start < scalars.count { split(scalars, f, start..<scalars.count, into: &out) }
        } else {
            split(scalars, f, 0..<scalars.count, into: &out)
        }
        return out
    }

    private func split(_ c: [Unicode.Scalar], _ f: [Flags], _ range: Range<Int>, into out: inout [Range<Int>]) {
        let end = range.upperBound
        func cp(_ i: Int) -> UInt32 { i < end ? c[i].value : 0x11_0000 }
        func fl(_ i: Int) -> Flags? { i < end ? f[i] : nil }
        func isNewline(_ i: Int) -> Bool { cp(i) == 0x0A || cp(i) == 0x0D }
        let caseless = self == .llama3 || self == .qwen2
        func lower(_ v: UInt32) -> UInt32 { caseless && v >= 0x41 && v <= 0x5A ? v + 0x20 : v }
        var pos = range.lowerBound
        while pos < end {
            let start = pos
            defer { out.append(start..<pos) }
            // 's 't 'm 'd 're 've 'll
            if cp(pos) == 0x27 && pos + 1 < end {
                let a = lower(cp(pos + 1))
                let b = lower(cp(pos + 2))
                if a == 0x73 || a == 0x74 || a == 0x6D || a == 0x64 {
                    pos += 2
                    continue
                }
                if (a == 0x72 && b == 0x65) || (a == 0x76 && b == 0x65) || (a == 0x6C && b == 0x6C) {
                    pos += 3
                    continue
                }
            }
            if caseless {
                // [^\r\n\p{L}\p{N}]?\p{L}+
                if !isNewline(pos) && f[pos] != .number && (f[pos] == .letter || fl(pos + 1) == .letter) {
                    pos += 1
                    while fl(pos) == .letter { pos += 1 }
                    continue
                }
                // \p{N}{1,3} or \p{N}
                if f[pos] == .number {
                    let most = self == .llama3 ? 3 : 1
                    while fl(pos) == .number && pos - start < most { pos += 1 }
                    continue
                }
                // ' '?[^\s\p{L}\p{N}]+[\r\n]*
                let o = cp(pos) == 0x20 ? pos + 1 : pos
                if fl(o) == .other {
                    pos = o
                    while fl(pos) == .other { pos += 1 }
                    while isNewline(pos) { pos += 1 }
                    continue
                }
            } else {
                // ' '?\p{L}+ | ' '?\p{N}+ | ' '?[^\s\p{L}\p{N}]+
                let o = cp(pos) == 0x20 ? pos + 1 : pos
                if let kind = fl(o), kind != .space {
                    pos = o
                    while fl(pos) == kind { pos += 1 }
                    continue
                }
            }
            var spaces = 0
            var lastNewline = -1
            while fl(pos + spaces) == .space {
                if isNewline(pos + spaces) { lastNewline = pos + spaces + 1 }
                spaces += 1
            }
            if caseless && lastNewline > 0 {
                pos = lastNewline
                continue
            }  // \s*[\r\n]+
            if spaces > 1 && pos + spaces < end {
                pos += spaces - 1
                continue
            }  // \s+(?!\S)
            pos += max(spaces, 1)  // \s+, or an unmatched scalar
        }
    }
}
