#!/usr/bin/env python3
"""Reference figures of SmolLM2-135M-Instruct (Q4_1 GGUF) from transformers, for the Swift runtime's tests
(Tests/SpQRModelTests/Fixtures/smollm2-reference.safetensors).

transformers dequantizes the GGUF to float32 and is the reference for tokens, logits, perplexity and
Hessians. The text is the held-out part of The Jargon File (scripts/fetch-text.sh); the calibration
fixture uses its calibration part. Stored (all small enough to commit):
  tokens            I64 [2048]   first 4 windows of 512 tokens of the held-out text (tokenizer(text), no BOS)
  logits_rows       F32 [P, 2048] logits of window 0 at positions P = 0,1,2,63,255,511, vocabulary ids 0..2047
  logits_positions  I64 [P]
  logsumexp         F32 [512]    logsumexp over the whole vocabulary at every position of window 0
  argmax            I64 [512]    the top token at every position of window 0
  window_nll        F64 [4]      mean cross-entropy of each window (positions 0..510 against tokens 1..511)
  calib_tokens      I64 [n]      the first 16 x 64 tokens of the calibration text (tokenizer(text, add_special_tokens=False))
  hessian.<site>.corner F32 [64, 64] and hessian.<site>.diag F32 [in]  of H = 2/N sum x x^T over 4 evenly
                                 spaced windows of 64 of calib_tokens, for a few sites, as tools/collect_hessians.py computes it
Metadata: the model file and its SHA-256, the text parts and their SHA-256, versions.

Usage: python3 tools/make_model_fixtures.py MODEL.gguf HELDOUT.txt CALIBRATION.txt OUT.safetensors
"""
import hashlib
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collect_hessians  # noqa: E402

SEQLEN, WINDOWS, VOCAB_SLICE = 512, 4, 2048
POSITIONS = [0, 1, 2, 63, 255, 511]
CALIB_SEQLEN, CALIB_TOKENS_WINDOWS, CALIB_WINDOWS = 64, 16, 4
SITES = ["model.layers.0.self_attn.q_proj", "model.layers.0.self_attn.o_proj", "model.layers.15.mlp.gate_proj",
         "model.layers.29.mlp.down_proj", "lm_head"]


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main(model_path, heldout, calibration, out):
    import torch
    import transformers
    from safetensors.numpy import save_file

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    model, tokenizer, _ = collect_hessians.load_model(model_path)
    text = open(heldout, encoding="utf-8").read()
    ids = tokenizer(text)["input_ids"][: SEQLEN * WINDOWS]
    assert len(ids) == SEQLEN * WINDOWS, "the held-out text is too short"
    nll = []
    with torch.no_grad():
        for w in range(WINDOWS):
            x = torch.tensor([ids[w * SEQLEN:(w + 1) * SEQLEN]])
            logits = model(input_ids=x).logits[0].float()
            if w == 0:
                first = logits
            loss = torch.nn.functional.cross_entropy(logits[:-1], x[0, 1:])
            nll.append(float(loss))
    tensors = {
        "tokens": np.array(ids, dtype=np.int64),
        "logits_rows": first[POSITIONS, :VOCAB_SLICE].numpy().astype(np.float32),
        "logits_positions": np.array(POSITIONS, dtype=np.int64),
        "logsumexp": torch.logsumexp(first, dim=-1).numpy().astype(np.float32),
        "argmax": first.argmax(dim=-1).numpy().astype(np.int64),
        "window_nll": np.array(nll, dtype=np.float64),
    }
    calib = tokenizer(open(calibration, encoding="utf-8").read(), add_special_tokens=False)["input_ids"]
    calib = calib[: CALIB_SEQLEN * CALIB_TOKENS_WINDOWS]
    count = len(calib) // CALIB_SEQLEN
    starts = [int(i * count / CALIB_WINDOWS) * CALIB_SEQLEN for i in range(CALIB_WINDOWS)]
    sequences = [calib[s:s + CALIB_SEQLEN] for s in starts]
    sites, _, _ = collect_hessians.collect(model, sequences, None, True)
    tensors["calib_tokens"] = np.array(calib, dtype=np.int64)
    for site in SITES:
        H = sites[site]["H"].numpy().astype(np.float32)
        tensors[f"hessian.{site}.corner"] = np.ascontiguousarray(H[:64, :64])
        tensors[f"hessian.{site}.diag"] = np.ascontiguousarray(np.diag(H))
    meta = {
        "model": os.path.basename(model_path), "model_sha256": sha256(model_path),
        "heldout_text": os.path.basename(heldout), "heldout_sha256": sha256(heldout),
        "calibration_text": os.path.basename(calibration), "calibration_sha256": sha256(calibration),
        "seqlen": str(SEQLEN), "calib_seqlen": str(CALIB_SEQLEN), "calib_windows": str(CALIB_WINDOWS),
        "sites": json.dumps(SITES), "torch": torch.__version__, "transformers": transformers.__version__,
        "ppl": repr(float(np.exp(np.mean(nll)))),
    }
    save_file(tensors, out, metadata=meta)
    print(f"wrote {out}: ppl {meta['ppl']} over {WINDOWS} windows of {SEQLEN}", file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    main(*sys.argv[1:])
