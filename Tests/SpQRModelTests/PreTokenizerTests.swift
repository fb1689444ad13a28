// The hand-written pre-tokenizer splits against the regexes they stand for, on inputs whose matches
// can be read off by hand.

import Testing

@testable import SpQRModel

@Suite("Pre-tokenizers")
struct PreTokenizerTests {
    func words(_ p: PreTokenizer, _ s: String) -> [String] {
        let scalars = Array(s.unicodeScalars)
        return p.split(scalars).map { r in String(String.UnicodeScalarView(scalars[r])) }
    }

    @Test("gpt2: contractions, one leading space per word, a run of spaces keeps its last for the next word")
    func gpt2() {
        #expect(
            words(.gpt2, "I'm  here's 12345 x!!\n\n y  ") == [
                "I", "'m", " ", " here", "'s", " 12345", " x", "!!", "\n\n", " y", "  ",
            ])
        #expect(words(.gpt2, "DON'T") == ["DON", "'", "T"])
    }

    @Test("smollm: digits one by one, then gpt2")
    func smollm() {
        #expect(words(.smollm, "ab 2024x") == ["ab", " ", "2", "0", "2", "4", "x"])
    }

    @Test("llama3: caseless contractions, digits in threes, newlines with the whitespace before them")
    func llama3() {
        #expect(
            words(.llama3, "DON'T 1234567 \thi  \n\nx;;\n") == [
                "DON", "'T", " ", "123", "456", "7", " ", "\thi", "  \n\n", "x", ";;\n",
            ])
        #expect(words(.qwen2, "x 123") == ["x", " ", "1", "2", "3"])
    }
}
