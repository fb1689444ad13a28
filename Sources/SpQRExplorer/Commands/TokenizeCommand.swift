// spqr-explorer tokenize: a text file's token ids under a model's own tokenizer.

import ArgumentParser
import Foundation
import SpQRCore
import SpQRModel

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Tokenize a text file with a model's own tokenizer (GGUF metadata or tokenizer.json).",
        discussion: """
            The ids are those Hugging Face's tokenizer(text) gives: special tokens written in the text are \
            matched, and BOS is added when the model's tokenizer adds it (SmolLM2: no; LLaMA-2: yes).
            Examples:
              spqr-explorer tokenize SmolLM2-135M-Instruct.Q4_1.gguf --text eval.txt
              spqr-explorer tokenize path/to/hf-model-dir --text eval.txt --json
            """)

    @Argument(help: "The model: a GGUF file, a Hugging Face model directory with tokenizer.json, or a tokenizer.json.")
    var model: String

    @Option(help: "The UTF-8 text file to tokenize ('-' for standard input).")
    var text: String

    @Flag(help: "Print {\"ids\": [...], \"n_tokens\": N} instead of a summary.")
    var json = false

    @Option(help: "Tokens the summary shows as pieces.")
    var show = 24

    func run() throws {
        let tokenizer = try Tokenizers.load(model: model)
        let data: Data
        if text == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let d = FileManager.default.contents(atPath: text) else {
                throw SpQRError(.io, "\(text): cannot be read (no such file, or not readable)")
            }
            data = d
        }
        guard let string = String(validating: data, as: UTF8.self) else {
            throw SpQRError(
                .fileFormat,
                "\(text): not valid UTF-8 (first invalid byte at offset \(Self.firstInvalidUTF8(data))); convert it with iconv"
            )
        }
        let ids = tokenizer.encode(string)
        if json {
            print("{\"ids\": [\(ids.map(String.init).joined(separator: ", "))], \"n_tokens\": \(ids.count)}")
            return
        }
        let characters = string.unicodeScalars.count
        print(
            ReportFormat.columns([
                ["model", model],
                [
                    "tokenizer",
                    (tokenizer as? CustomStringConvertible)?.description ?? "\(tokenizer.vocabularySize) tokens",
                ],
                ["text", "\(text), \(characters) characters, \(ReportFormat.bytes(data.count))"],
                [
                    "tokens",
                    "\(ids.count)"
                        + (characters > 0
                            ? String(format: " (%.3f per character)", Double(ids.count) / Double(characters)) : ""),
                ],
            ]))
        guard !ids.isEmpty, show > 0 else { return }
        print("first \(min(show, ids.count)) tokens:")
        print(
            ReportFormat.columns(
                ids.prefix(show).indices.map { i in
                    ["  \(i)", "\(ids[i])", Self.piece(i, of: ids, tokenizer).debugDescription]
                }))
    }

    /// The text token `i` adds to the decoded text before it (so SentencePiece's "▁Hello" shows as
    /// " Hello", not as the "Hello" a lone decode gives); a token holding part of a character shows alone.
    static func piece(_ i: Int, of ids: [Int], _ tokenizer: any TextTokenizer) -> String {
        let before = tokenizer.decode(Array(ids[..<i]))
        let through = tokenizer.decode(Array(ids[...i]))
        return through.hasPrefix(before) && !before.hasSuffix("\u{FFFD}") && !through.hasSuffix("\u{FFFD}")
            ? String(through.dropFirst(before.count)) : tokenizer.decode([ids[i]])
    }

    /// The offset of the first byte that does not begin a valid UTF-8 sequence.
    static func firstInvalidUTF8(_ data: Data) -> Int {
        var bytes = data.makeIterator()
        var decoder = UTF8()
        var offset = 0
        while case .scalarValue(let s) = decoder.decode(&bytes) { offset += UTF8.width(s) }
        return offset
    }
}
