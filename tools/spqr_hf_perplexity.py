#!/usr/bin/env python3
"""Perplexity of a Hugging Face SpQR directory (quant_method "spqr") under transformers, with every quantized
module decoded here with numpy from the format's description (fp16 steps, outliers added in fp32 and
rounded, in_perm undone), independently of the Swift reader: a cross-check of `spqr-explorer eval DIR`
on a machine without the CUDA kernels that transformers' own SpQR loading needs.

The windows are those of `eval`: the whole text tokenized as tokenizer(text) does, non-overlapping windows
of SEQLEN tokens from the start, ppl = exp(mean over windows of the mean cross-entropy). The model runs in
float32 on the fp16 weights. Usage:

    python3 tools/spqr_hf_perplexity.py DIR TEXT [SEQLEN] [WINDOWS]
"""
import json
import sys

import numpy as np
import torch
from safetensors.numpy import load_file
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
d = sys.argv[1]
text = open(sys.argv[2]).read()
seqlen = int(sys.argv[3]) if len(sys.argv) > 3 else 256
nwin = int(sys.argv[4]) if len(sys.argv) > 4 else 2
cfg = json.load(open(d + "/config.json")); q = cfg.pop("quantization_config")
t = load_file(d + "/model.safetensors")
def decode(mod):
    W = t[mod + ".dense_weights"].view(np.uint64); ro = t[mod + ".row_offsets"]; cv = t[mod + ".col_vals"].view(np.uint32); ip = t[mod + ".in_perm"].view(np.uint32)
    m = len(ro) - 1; n = 2 * len(ip)
    W = W.reshape(m // 16, n // 16, 16)
    by = ((W[:, :, 0::2] >> np.uint64(54)) & np.uint64(0xff)).astype(np.uint16)  # byte b from word 2b
    assert np.array_equal(by, ((W[:, :, 1::2] >> np.uint64(54)) & np.uint64(0xff)).astype(np.uint16))
    halves = (by[..., 0::2] | (by[..., 1::2] << 8)).view(np.float16)  # [ss, zs, sz, zz]
    ss, zs, sz, zz = [halves[..., k:k + 1] for k in range(4)]
    f = lambda k: ((W >> np.uint64(3 * k)) & np.uint64(7)).astype(np.float16)
    s = ss * (f(0) - sz); z = zs * (f(1) - zz)
    w = np.stack([s * (f(2 + l) - z) for l in range(16)], -1)  # (tr, tc, r, l)
    out = w.transpose(0, 2, 1, 3).reshape(m, n).astype(np.float32)
    rows = np.repeat(np.arange(m), np.diff(ro))
    np.add.at(out, (rows, cv & 0xffff), (cv >> 16).astype(np.uint16).view(np.float16).astype(np.float32))
    out = out.astype(np.float16).astype(np.float32)
    perm = np.stack([ip & 0xffff, ip >> 16], 1).reshape(-1)
    res = np.empty_like(out); res[:, perm] = out
    return res
sd = {}
for k in t:
    if k.endswith(".dense_weights"):
        mod = k[: -len(".dense_weights")]; sd[mod + ".weight"] = torch.from_numpy(decode(mod))
    elif not any(k.endswith(s) for s in (".row_offsets", ".col_vals", ".in_perm")):
        sd[k] = torch.from_numpy(t[k].astype(np.float32))
config = AutoConfig.for_model(**{k: v for k, v in cfg.items() if k != "torch_dtype"})
model = AutoModelForCausalLM.from_config(config).float().eval()
missing, unexpected = model.load_state_dict(sd, strict=False); print("missing", missing, "unexpected", unexpected)
tok = AutoTokenizer.from_pretrained(d)
ids = tok(text, return_tensors="pt").input_ids[0]
nll = []
with torch.no_grad():
    for w in range(nwin):
        x = ids[w * seqlen:(w + 1) * seqlen][None]
        logits = model(x).logits[0, :-1].float()
        nll.append(torch.nn.functional.cross_entropy(logits, x[0, 1:]).item())
print("ppl", float(np.exp(np.mean(nll))))
