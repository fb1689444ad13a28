// A tokenizer from Hugging Face's tokenizer.json (the `tokenizers` library's serialization) and, beside
// it, tokenizer_config.json. Read: model (BPE: vocab, merges as "a b" strings or [a, b] pairs,
// ignore_merges, byte_fallback, unk_token), added_tokens (id, content, lstrip, rstrip),
// normalizer (none, NFC, or SentencePiece's Prepend("▁") + Replace(" ", "▁")), pre_tokenizer (ByteLevel,
// Digits + ByteLevel, Split(pattern) + ByteLevel, Metaspace) and post_processor (TemplateProcessing
// for BOS/EOS). tokenizer_config.json's add_bos_token / add_eos_token override the template, as
// transformers' LlamaTokenizerFast does.

import Foundation
import SpQRCore

enum HuggingFaceTokenizerFile {
    static func definition(path: String) throws -> TokenizerDefinition {
        func fail(_ s: String) -> SpQRError { SpQRError(.unsupported, "\(path): \(s)") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SpQRError(.io, "\(path): cannot be read")
        }
        guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw SpQRError(.fileFormat, "\(path): not a JSON object; expected a Hugging Face tokenizer.json")
        }
        guard let model = json["model"] as? [String: Any] else { throw fail("no \"model\" object") }
        let kind = model["type"] as? String ?? "(none)"
        guard kind == "BPE", model["vocab"] is [String: Any] else {
            throw fail(
                "model.type \"\(kind)\" is not supported (supported: BPE, byte-level or SentencePiece-style, with a vocab object)"
            )
        }
        let addedJSON = json["added_tokens"] as? [[String: Any]] ?? []
        let vocab = try JSONVocabulary.entries(Array(data), path: path)
        let size = max(vocab.map(\.1).max() ?? -1, addedJSON.compactMap { $0["id"] as? Int }.max() ?? -1) + 1
        // Ids number the tokens densely; a far larger one is a damaged file, not a reason to allocate.
        let entries = vocab.count + addedJSON.count
        guard size <= 2 * entries + 1024 else {
            throw SpQRError(
                .fileFormat,
                "\(path): token id \(size - 1) is far beyond the \(entries) tokens the file defines; the file is damaged"
            )
        }
        var tokens = [String](repeating: "", count: size)
        for (t, i) in vocab { tokens[i] = t }
        var added: [AddedToken] = []
        for a in addedJSON {
            guard let id = a["id"] as? Int, id >= 0, let content = a["content"] as? String else {
                throw fail("an added_tokens entry lacks a non-negative id or its content")
            }
            tokens[id] = content
            added.append(
                AddedToken(
                    id: id, content: Array(content.utf8), lstrip: a["lstrip"] as? Bool ?? false,
                    rstrip: a["rstrip"] as? Bool ?? false))
        }
        let index = MergeTable.index(tokens)
        let pairs: [(String, String)] = try (model["merges"] as? [Any] ?? []).map { entry in
            if let s = entry as? String, let sp = s.firstIndex(of: " ") {
                return (String(s[..<sp]), String(s[s.index(after: sp)...]))
            }
            if let p = entry as? [String], p.count == 2 { return (p[0], p[1]) }
            throw fail("model.merges entry \(entry) is neither \"a b\" nor [\"a\", \"b\"]")
        }
        let pre = json["pre_tokenizer"] as? [String: Any]
        let steps =
            (pre?["type"] as? String == "Sequence" ? pre?["pretokenizers"] as? [[String: Any]] : pre.map { [$0] }) ?? []
        let stepTypes = steps.map { $0["type"] as? String ?? "?" }
        let normalizer = json["normalizer"] as? [String: Any]
        let normalizers =
            (normalizer?["type"] as? String == "Sequence"
                ? normalizer?["normalizers"] as? [[String: Any]] : normalizer.map { [$0] }) ?? []
        let normalizerTypes = normalizers.map { $0["type"] as? String ?? "?" }

        var d = TokenizerDefinition(
            model: .byteLevel(.gpt2), tokens: tokens, merges: MergeTable.fromRanks(pairs, index: index),
            added: added, source: path)
        d.ignoreMerges = model["ignore_merges"] as? Bool ?? false
        if let unk = model["unk_token"] as? String, let u = index[Array(unk.utf8)] { d.unknown = Int(u) }
        let described =
            "pre_tokenizer [\(stepTypes.joined(separator: ", "))], normalizer [\(normalizerTypes.joined(separator: ", "))]"
        if let byteLevel = steps.last, stepTypes.last == "ByteLevel" {
            if byteLevel["add_prefix_space"] as? Bool == true {
                throw fail("ByteLevel add_prefix_space = true is not supported")
            }
            let regex = byteLevel["use_regex"] as? Bool ?? true
            switch (stepTypes.count, regex) {
            case (1, true): d.model = .byteLevel(.gpt2)
            case (2, true) where stepTypes[0] == "Digits" && steps[0]["individual_digits"] as? Bool == true:
                d.model = .byteLevel(.smollm)
            case (2, false) where stepTypes[0] == "Split":
                let pattern = (steps[0]["pattern"] as? [String: Any])?["Regex"] as? String ?? "(none)"
                guard let p = PreTokenizer.splitPatterns[pattern] else {
                    throw fail(
                        "the Split pattern \(pattern) is not one of the supported pre-tokenizers (\(PreTokenizer.allCases.map(\.rawValue).joined(separator: ", ")))"
                    )
                }
                d.model = .byteLevel(p)
            default: throw fail("\(described) is not a supported byte-level pre-tokenizer")
            }
            guard normalizerTypes.isEmpty || normalizerTypes == ["NFC"] else {
                throw fail("\(described): only no normalizer or NFC is supported with ByteLevel")
            }
            d.nfc = normalizerTypes == ["NFC"]
        } else if stepTypes == ["Metaspace"] && normalizerTypes.isEmpty {
            guard steps[0]["split"] as? Bool != true else {
                throw fail(
                    "Metaspace with split = true is not supported (SentencePiece-style tokenizers use split = false)")
            }
            let scheme = steps[0]["prepend_scheme"] as? String ?? "always"
            d.model = .sentencePiece(scheme == "first" ? .metaspaceFirst : scheme == "never" ? .none : .metaspaceAlways)
        } else if stepTypes.isEmpty && (normalizerTypes == ["Prepend", "Replace"] || normalizerTypes == ["Replace"]) {
            d.model = .sentencePiece(normalizerTypes.count == 2 ? .always : .none)
        } else {
            throw fail(
                "\(described) is not supported (supported: ByteLevel alone or after Digits or a Split of the gpt2, llama3 or qwen2 pattern; SentencePiece-style Metaspace, or Prepend + Replace of \"▁\")"
            )
        }

        // BOS/EOS: the template's special tokens around $A, then tokenizer_config.json's flags.
        let config =
            (FileManager.default.contents(
                atPath: ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(
                    "tokenizer_config.json")
            )
            .flatMap { try? JSONSerialization.jsonObject(with: $0) } as? [String: Any]) ?? [:]
        func tokenID(_ v: Any?) -> Int? {
            let text = v as? String ?? (v as? [String: Any])?["content"] as? String
            return text.flatMap { index[Array($0.utf8)] }.map(Int.init)
        }
        d.bos = tokenID(config["bos_token"])
        d.eos = tokenID(config["eos_token"])
        let post = json["post_processor"] as? [String: Any]
        let processors =
            (post?["type"] as? String == "Sequence" ? post?["processors"] as? [[String: Any]] : post.map { [$0] }) ?? []
        if let template = processors.first(where: { $0["type"] as? String == "TemplateProcessing" }),
            let single = template["single"] as? [[String: Any]],
            let specials = template["special_tokens"] as? [String: Any]
        {
            var before = true
            for item in single {
                if item["Sequence"] != nil {
                    before = false
                    continue
                }
                guard let name = (item["SpecialToken"] as? [String: Any])?["id"] as? String,
                    let ids = (specials[name] as? [String: Any])?["ids"] as? [Int]
                else { continue }
                if before { d.prefix += ids } else { d.suffix += ids }
            }
        }
        if let addBOS = config["add_bos_token"] as? Bool, let bos = d.bos {
            d.prefix.removeAll { $0 == bos }
            if addBOS { d.prefix.insert(bos, at: 0) }
        }
        if let addEOS = config["add_eos_token"] as? Bool, let eos = d.eos {
            d.suffix.removeAll { $0 == eos }
            if addEOS { d.suffix.append(eos) }
        }
        return d
    }
}
