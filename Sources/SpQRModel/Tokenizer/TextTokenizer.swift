// The tokenizer a model was trained with, read from the model's own files: a GGUF file's
// `tokenizer.ggml.*` metadata or a Hugging Face directory's tokenizer.json (+ tokenizer_config.json).
//
// Two model kinds are supported, each as both sources define it:
//   byte-level BPE ("gpt2" in GGUF; BPE + ByteLevel in tokenizer.json): GPT-2, SmolLM, LLaMA-3, Qwen2;
//   SentencePiece BPE ("llama" in GGUF; BPE + byte_fallback + ▁ in tokenizer.json): LLaMA-1/2, Mistral.
// `encode` answers what Hugging Face's `tokenizer(text)` answers by default: special tokens written in
// the text are matched first, and the BOS/EOS tokens the model's post-processor adds are added.

import Foundation
import SpQRCore

/// Text to token ids and back, as the model's own tokenizer does it.
public protocol TextTokenizer: Sendable {
    /// The ids of `text`, as Hugging Face `tokenizer(text)` gives them by default (BOS as the model adds it).
    func encode(_ text: String) -> [Int]
    /// The text of `ids` (special tokens appear as their text; invalid UTF-8 becomes U+FFFD).
    func decode(_ ids: [Int]) -> String
    /// Number of token ids (the embedding rows the ids index).
    var vocabularySize: Int { get }
    /// The beginning-of-sequence token, if the vocabulary has one.
    var bosTokenID: Int? { get }
    /// The end-of-sequence token, if the vocabulary has one.
    var eosTokenID: Int? { get }
}

/// Loading a model's tokenizer.
public enum Tokenizers {
    /// Loads the tokenizer of a model: a GGUF file (tokenizer.ggml.* metadata) or a Hugging Face directory
    /// (tokenizer.json, tokenizer_config.json), or a tokenizer.json file itself.
    public static func load(model path: String) throws -> any TextTokenizer {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw SpQRError(
                .io,
                "\(path): no such file or directory (give a GGUF file or a Hugging Face model directory with tokenizer.json)"
            )
        }
        if isDirectory.boolValue {
            let json = (path as NSString).appendingPathComponent("tokenizer.json")
            guard FileManager.default.fileExists(atPath: json) else {
                throw SpQRError(
                    .unsupported,
                    "\(path): no tokenizer.json in this directory; the tokenizer is read from a Hugging Face tokenizer.json or from a GGUF file's tokenizer.ggml.* metadata"
                )
            }
            return BPETokenizer(try HuggingFaceTokenizerFile.definition(path: json))
        }
        if path.hasSuffix(".json") { return BPETokenizer(try HuggingFaceTokenizerFile.definition(path: path)) }
        return BPETokenizer(try GGUFTokenizerMetadata.definition(GGUFFile(path: path)))
    }
}
