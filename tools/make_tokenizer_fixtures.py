#!/usr/bin/env python3
"""Expected token ids for the Swift tokenizers, from Hugging Face's own implementation.

Reads Tests/SpQRModelTests/Fixtures/tokenizer-texts.json and writes, beside it:
  tiny-*/tokenizer.json + tokenizer_config.json   small tokenizers trained here with `tokenizers` on the
                                                  test texts and the project's README.md and docs/*.md,
                                                  one per supported kind: byte-level with Digits (smollm),
                                                  Split llama3 + ignore_merges, NFC + Split qwen2,
                                                  SentencePiece-style with Prepend/Replace and with Metaspace
  tokenizer-expected.json                         {"random_texts": [120 seeded random texts], "tokenizers": {name:
                                                  {"ids", "decoded", "random_ids", "random_decoded"}}} from
                                                  transformers' AutoTokenizer `tokenizer(text)` / `decode(ids)`
With --smollm2 GGUF (SmolLM2-135M-Instruct.Q4_1.gguf) and --llama-cpp DIR (llama.cpp, for
models/ggml-vocab-llama-spm.gguf), also the tokenizers transformers reads from those GGUF files; their
tokenizer.json files (3.5 MB each) go to the cache (--cache, default ~/.cache/spqr-explorer/tokenizers),
not the repository:
  smollm2-gguf        transformers' AutoTokenizer.from_pretrained(dir, gguf_file=...)  (the GGUF loader's reference)
  smollm2-json        the tokenizer.json transformers saves from it                     (the tokenizer.json loader's)
  smollm2-original    that tokenizer.json with the pre-tokenizer of SmolLM2's own tokenizer.json, Digits
                      (individual) + ByteLevel, which transformers' GGUF conversion drops and llama.cpp's
                      "smollm" keeps (the GGUF loader's reference; it differs from smollm2-gguf only
                      where a space precedes a non-ASCII number character such as "½")
  llama-spm-metaspace the same for llama.cpp's LLaMA SentencePiece vocabulary (Metaspace, prepend "first")
  llama-spm-legacy    that vocabulary as LLaMA-2's own tokenizer.json states it (Prepend + Replace
                      normalizer, which prefixes "▁" after every added token as llama.cpp does; the GGUF
                      loader's reference)

Usage: python3 tools/make_tokenizer_fixtures.py [--smollm2 FILE.gguf] [--llama-cpp DIR] [--cache DIR]
"""
import argparse, json, os, random, shutil
from tokenizers import Tokenizer, Regex, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import AutoTokenizer

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "SpQRModelTests", "Fixtures")
LLAMA3 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
QWEN2 = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
CHAT = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def corpus(texts):
    """The test texts and the project's own documentation, by paragraph."""
    root = os.path.join(HERE, "..", "..", "..")
    paragraphs = []
    for name in ["README.md"] + sorted(f"docs/{n}" for n in os.listdir(os.path.join(root, "docs")) if n.endswith(".md")):
        with open(os.path.join(root, name), encoding="utf-8") as f:
            paragraphs += f.read().split("\n\n")
    return texts + paragraphs


def save(tok, name, config):
    d = os.path.join(HERE, name)
    os.makedirs(d, exist_ok=True)
    tok.save(os.path.join(d, "tokenizer.json"))
    with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
        json.dump(dict(config, tokenizer_class="PreTrainedTokenizerFast"), f, indent=1)
    return d


def byte_level(kind, texts):
    tok = Tokenizer(models.BPE(ignore_merges=kind == "llama3"))
    if kind == "smollm":
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True),
                                                     pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    else:
        tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Split(Regex(LLAMA3 if kind == "llama3" else QWEN2), "isolated"),
                                                     pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        if kind == "qwen2":
            tok.normalizer = normalizers.NFC()
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus(texts), trainers.BpeTrainer(vocab_size=600, special_tokens=CHAT, show_progress=False,
                                                               initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    config = {"bos_token": "<|im_start|>", "eos_token": "<|im_end|>"}
    if kind == "llama3":  # LLaMA-3 adds BOS through its post-processor
        tok.post_processor = processors.TemplateProcessing(single="<|im_start|> $A", special_tokens=[("<|im_start|>", 1)])
    return save(tok, f"tiny-{kind}", config)


def sentence_piece(kind, texts):
    specials = ["<unk>", "<s>", "</s>"]
    tok = Tokenizer(models.BPE(byte_fallback=True, unk_token="<unk>", fuse_unk=True))
    if kind == "legacy":
        tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first", split=False)
    tok.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    tok.train_from_iterator(corpus(texts), trainers.BpeTrainer(vocab_size=700, special_tokens=specials + [f"<0x{b:02X}>" for b in range(256)],
                                                               limit_alphabet=70, show_progress=False))
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    # Byte tokens belong to the vocabulary, not to the added tokens matched in text (as in LLaMA's file).
    j = json.loads(tok.to_str())
    j["added_tokens"] = [a for a in j["added_tokens"] if a["content"] in specials]
    tok = Tokenizer.from_str(json.dumps(j))
    return save(tok, f"tiny-spm-{kind}", {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"})


def rewrite(source, target, changes):
    """A copy of the tokenizer directory `source` at `target` with top-level tokenizer.json keys replaced."""
    os.makedirs(target, exist_ok=True)
    shutil.copy(os.path.join(source, "tokenizer_config.json"), target)
    with open(os.path.join(source, "tokenizer.json"), encoding="utf-8") as f:
        j = json.load(f)
    j.update(changes)
    with open(os.path.join(target, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(j, f, ensure_ascii=False)
    return target


# Fragments random texts are drawn from: the cases where the hand-written pre-tokenizers could part from
# the regex engine (contractions in any case, spaces before every class, newline runs, numbers of every
# kind, combining marks, emoji sequences) and the special tokens.
FRAGMENTS = ["a", "Z", "hello", "World", "'s", "'S", "'ll", "'LL", "'re", "'Ve", "'d", "'m", "'t", "'x", " ", "  ", "\t",
             "\n", "\r\n", "\n\n", " \n", "\u00a0", "\u2003", "\u3000", "0", "42", "1234567", "\u00bd", "\u00b2",
             "\u0663", "\u096a", "\u2167", ".", ",", "!?", "...", "-", "_", "(", ")", "{", "}", "#", "@", "é", "e\u0301",
             "\u0301", "ß", "Ω", "日本", "한국", "ไทย", "עב", "\U0001f999", "\U0001f44d\U0001f3fd", "\u200d", "\u200b", "\ufeff",
             "<|im_start|>", "<|im_end|>", "<s>", "</s>", "<unk>", "<0x41>"]


def random_texts(n=120, seed=20261201):
    rng = random.Random(seed)
    return ["".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 24))) for _ in range(n)]


def expected(tok, texts):
    ids = [tok(t)["input_ids"] for t in texts]
    randoms = random_texts()
    random_ids = [tok(t)["input_ids"] for t in randoms]
    return {"ids": ids, "decoded": [tok.decode(i) for i in ids], "random_ids": random_ids,
            "random_decoded": [tok.decode(i) for i in random_ids]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--smollm2")
    ap.add_argument("--llama-cpp")
    ap.add_argument("--cache", default=os.path.expanduser("~/.cache/spqr-explorer/tokenizers"))
    a = ap.parse_args()
    with open(os.path.join(HERE, "tokenizer-texts.json"), encoding="utf-8") as f:
        texts = json.load(f)["texts"]
    # Entries this run does not recompute (no --smollm2 / --llama-cpp) are kept from the last run.
    target = os.path.join(HERE, "tokenizer-expected.json")
    out = {}
    if os.path.exists(target):
        with open(target, encoding="utf-8") as f:
            out = json.load(f)["tokenizers"]
    for kind in ["smollm", "llama3", "qwen2"]:
        out[f"tiny-{kind}"] = expected(AutoTokenizer.from_pretrained(byte_level(kind, texts)), texts)
    for kind in ["legacy", "metaspace"]:
        out[f"tiny-spm-{kind}"] = expected(AutoTokenizer.from_pretrained(sentence_piece(kind, texts)), texts)

    def from_gguf(path, name):
        tok = AutoTokenizer.from_pretrained(os.path.dirname(os.path.abspath(path)), gguf_file=os.path.basename(path))
        d = os.path.join(a.cache, name)
        tok.save_pretrained(d)
        return tok, d

    if a.smollm2:
        tok, d = from_gguf(a.smollm2, "smollm2")
        out["smollm2-gguf"] = expected(tok, texts)
        out["smollm2-json"] = expected(AutoTokenizer.from_pretrained(d), texts)
        out["smollm2-original"] = expected(AutoTokenizer.from_pretrained(rewrite(d, os.path.join(a.cache, "smollm2-original"), {
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Digits", "individual_digits": True},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]}})), texts)
    if a.llama_cpp:
        tok, d = from_gguf(os.path.join(a.llama_cpp, "models", "ggml-vocab-llama-spm.gguf"), "llama-spm-metaspace")
        out["llama-spm-metaspace"] = expected(AutoTokenizer.from_pretrained(d), texts)
        legacy = rewrite(d, os.path.join(a.cache, "llama-spm-legacy"), {"pre_tokenizer": None, "normalizer": {
            "type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                                                {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]}})
        out["llama-spm-legacy"] = expected(AutoTokenizer.from_pretrained(legacy), texts)
    with open(target, "w", encoding="utf-8") as f:
        json.dump({"random_texts": random_texts(), "tokenizers": out}, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main()
