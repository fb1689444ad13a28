#!/usr/bin/env python3
"""Collect per-layer-input Hessians H = 2/N * sum x x^T of a Hugging Face model's linear layers from real
text, and write them in SpQR Explorer's Hessian file format (docs/hessian-format.md).

The accumulation is the SpQR reference's (`SPQRUtil.add_batch`): for every forward call with inputs of
leading dimension b, H *= n / (n + b); n += b; H += (sqrt(2 / n) x)^T (sqrt(2 / n) x), so N counts
sequences. Layers that read the same input (q/k/v, gate/up, BERT query/key/value) share one matrix.

Examples:
  python3 tools/collect_hessians.py path/to/model-dir --text book.txt --out hessians.safetensors --blocks 3
  python3 tools/collect_hessians.py path/to/SmolLM2.Q4_1.gguf --text book.txt --out h.safetensors \\
      --blocks 15 --seq-len 256 --n-sequences 128 --triu-over 1024

Requires: torch, transformers, safetensors, numpy (and gguf for GGUF models).
"""
import argparse
import hashlib
import json
import math
import os
import re
import sys
import tempfile

TOOL_VERSION = "spqr-explorer collect_hessians 1"

SHARED_INPUT_FAMILIES = [
    ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"],
    ["attention.self.query", "attention.self.key", "attention.self.value"],
    ["attn.q_proj", "attn.k_proj", "attn.v_proj"],
    ["mlp.gate_proj", "mlp.up_proj"],
]


def input_site(module_name):
    """The module path of the first layer that reads the same input (Sources/SpQRCore/Formats/LayerDiscovery.swift)."""
    for family in SHARED_INPUT_FAMILIES:
        for member in family:
            if module_name.endswith("." + member) or module_name == member:
                return module_name[: len(module_name) - len(member)] + family[0]
    return module_name


def block_of(module_name):
    m = re.search(r"(?:^|\.)(?:layers|layer|h|blocks|block)\.(\d+)\.", module_name + ".")
    return int(m.group(1)) if m else None


def load_model(path, gguf_file=None):
    import torch
    from transformers import AutoConfig, AutoModel, AutoModelForCausalLM, AutoTokenizer

    kwargs = {}
    directory = path
    if path.endswith(".gguf"):
        directory, gguf_file = os.path.dirname(os.path.abspath(path)), os.path.basename(path)
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    config = AutoConfig.from_pretrained(directory, **kwargs)
    decoder = any(a.endswith("ForCausalLM") for a in (config.architectures or [])) or gguf_file is not None
    cls = AutoModelForCausalLM if decoder else AutoModel
    model = cls.from_pretrained(directory, dtype=torch.float32, **kwargs)
    tokenizer = AutoTokenizer.from_pretrained(directory, **kwargs)
    model.eval()
    return model, tokenizer, decoder


def truncate_blocks(model, last_block):
    """Drop the blocks after the last one hooked: their outputs never reach a hooked input."""
    for attr in ["model.layers", "encoder.layer", "transformer.h", "model.decoder.layers"]:
        obj = model
        try:
            for part in attr.split(".")[:-1]:
                obj = getattr(obj, part)
            layers = getattr(obj, attr.split(".")[-1])
        except AttributeError:
            continue
        import torch
        setattr(obj, attr.split(".")[-1], torch.nn.ModuleList(list(layers)[: last_block + 1]))
        return True
    return False


def windows(tokenizer, text, seq_len, n_sequences):
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    count = len(ids) // seq_len
    if count == 0:
        sys.exit(f"the text has {len(ids)} tokens, fewer than one window of {seq_len}")
    if n_sequences > count:
        print(f"note: the text gives {count} windows of {seq_len} tokens; using all of them", file=sys.stderr)
        n_sequences = count
    # Evenly spaced windows over the whole text.
    starts = [int(i * count / n_sequences) * seq_len for i in range(n_sequences)]
    return [ids[s: s + seq_len] for s in starts]


def collect(model, sequences, blocks, decoder):
    import torch

    sites, members, hooks = {}, {}, []

    def make_hook(site):
        def hook(module, inputs, output):
            x = inputs[0].detach()
            if x.dim() == 2:
                x = x.unsqueeze(0)
            b = x.shape[0]
            state = sites[site]
            state["H"] *= state["n"] / (state["n"] + b)
            state["n"] += b
            x = math.sqrt(2 / state["n"]) * x.reshape(-1, x.shape[-1]).t().float()
            state["H"] += x.matmul(x.t())
        return hook

    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear):
            continue
        block = block_of(name)
        if blocks is not None and block not in blocks:
            continue
        site = input_site(name)
        members.setdefault(site, []).append(name + ".weight")
        if site not in sites:
            sites[site] = {"H": torch.zeros(module.in_features, module.in_features), "n": 0}
            hooks.append(module.register_forward_hook(make_hook(site)))
    if not sites:
        sys.exit("no linear layers matched the chosen blocks")
    tokens = 0
    with torch.no_grad():
        for i, seq in enumerate(sequences):
            ids = torch.tensor([seq])
            model(input_ids=ids, attention_mask=torch.ones_like(ids))
            tokens += len(seq)
            print(f"\rcollect: {i + 1}/{len(sequences)} sequences", end="", file=sys.stderr)
    print(file=sys.stderr)
    for h in hooks:
        h.remove()
    return sites, members, tokens


def write(path, sites, members, metadata, triu_over):
    import numpy as np
    from safetensors.numpy import save_file

    tensors, layers = {}, {}
    for site, state in sites.items():
        H = state["H"].numpy().astype(np.float32)
        name = "hessian." + site
        if H.shape[0] > triu_over:
            tensors[name + ".triu"] = H[np.triu_indices(H.shape[0])].astype(np.float32)
        else:
            tensors[name] = np.ascontiguousarray(H)
        for w in members[site]:
            layers[w] = name
    meta = dict(metadata)
    meta.update({"format": "spqr-explorer-hessians", "format_version": "1",
                 "layers": json.dumps(layers, sort_keys=True), "tool_version": TOOL_VERSION})
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=directory)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=meta)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    return layers


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="Hugging Face model directory, or a GGUF file")
    p.add_argument("--gguf-file", help="GGUF file name inside the model directory")
    p.add_argument("--text", required=True, help="plain-text calibration file (UTF-8)")
    p.add_argument("--text-source", help="where the text came from, recorded in the file (default: its path)")
    p.add_argument("--out", required=True, help="Hessian file to write (atomically)")
    p.add_argument("--seq-len", type=int, default=256, help="tokens per calibration sequence (default 256)")
    p.add_argument("--n-sequences", type=int, default=128, help="calibration sequences (default 128)")
    p.add_argument("--blocks", help="comma-separated block numbers to collect (default: all)")
    p.add_argument("--triu-over", type=int, default=1 << 30,
                   help="store matrices larger than this many inputs as packed upper triangles")
    p.add_argument("--model-name", help="model name recorded in the file (default: the path)")
    args = p.parse_args(argv)

    import torch
    torch.manual_seed(0)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    with open(args.text, "rb") as f:
        raw = f.read()
    text = raw.decode("utf-8", errors="replace")
    blocks = [int(b) for b in args.blocks.split(",")] if args.blocks else None
    model, tokenizer, decoder = load_model(args.model, args.gguf_file)
    if blocks:
        truncate_blocks(model, max(blocks))
    sequences = windows(tokenizer, text, args.seq_len, args.n_sequences)
    sites, members, tokens = collect(model, sequences, set(blocks) if blocks else None, decoder)
    layers = write(args.out, sites, members, {
        "model": args.model_name or args.model,
        "text_source": args.text_source or args.text,
        "text_sha256": hashlib.sha256(raw).hexdigest(),
        "n_sequences": str(len(sequences)),
        "n_tokens": str(tokens),
        "seq_len": str(args.seq_len),
    }, args.triu_over)
    print(f"wrote {args.out}: {len(sites)} input sites for {len(layers)} weights, {len(sequences)} sequences, {tokens} tokens",
          file=sys.stderr)


if __name__ == "__main__":
    main()
