#!/usr/bin/env python3
"""Writes the small file-format fixtures under Tests/SpQRCoreTests/Fixtures and the values a correct reader
must produce, using the reference implementations: the `gguf` package (llama.cpp's gguf-py: GGUFWriter,
quants.dequantize) and numpy. Requires: pip install gguf numpy (gguf 0.17+).

    python3 tools/make_format_fixtures.py
"""
import json
import os
import struct

import numpy as np
import gguf
from gguf import GGMLQuantizationType as T

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Tests", "SpQRCoreTests", "Fixtures")
rng = np.random.default_rng(1234)

# Byte offsets of the fp16 scale fields in one block of each quantized type (ggml-common.h).
F16_FIELDS = {T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
              T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208]}


def safetensors_bytes(tensors):
    header, blobs, offset = {}, [], 0
    for name, arr in tensors.items():
        arr = np.ascontiguousarray(arr, dtype=np.float32)
        b = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, sort_keys=True).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def quant_fixture():
    rows, cols = 2, 512
    writer = gguf.GGUFWriter(os.path.join(OUT, "quants.gguf"), "fixture")
    expected = {}
    for qt, fields in F16_FIELDS.items():
        block, size = gguf.GGML_QUANT_SIZES[qt]
        nblocks = rows * cols // block
        raw = bytearray(rng.integers(0, 256, nblocks * size, dtype=np.uint8).tobytes())
        for b in range(nblocks):
            for off in fields:
                raw[b * size + off: b * size + off + 2] = np.float16(rng.uniform(-1, 1)).tobytes()
        data = np.frombuffer(bytes(raw), dtype=np.uint8).reshape(rows, cols // block * size)
        name = qt.name.lower()
        writer.add_tensor(name, data, raw_dtype=qt)
        expected[name] = gguf.quants.dequantize(data, qt).reshape(rows, cols)
    for name, dtype in [("f32", np.float32), ("f16", np.float16)]:
        a = rng.standard_normal((rows, cols)).astype(dtype)
        writer.add_tensor(name, a)
        expected[name] = a.astype(np.float32)
    bf = rng.standard_normal((rows, cols)).astype(np.float32)
    bf16 = (bf.view(np.uint32) >> 16).astype(np.uint16)
    writer.add_tensor("bf16", bf16.view(np.uint8).reshape(rows, cols * 2), raw_dtype=T.BF16)
    expected["bf16"] = (bf16.astype(np.uint32) << 16).view(np.float32)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with open(os.path.join(OUT, "quants-expected.safetensors"), "wb") as f:
        f.write(safetensors_bytes(expected))


def llama_permute(w, n_head):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama_fixture():
    n_head, n_head_kv, head_dim, hidden = 4, 2, 8, 32
    q = rng.standard_normal((n_head * head_dim, hidden)).astype(np.float32)
    k = rng.standard_normal((n_head_kv * head_dim, hidden)).astype(np.float32)
    v = rng.standard_normal((n_head_kv * head_dim, hidden)).astype(np.float32)
    writer = gguf.GGUFWriter(os.path.join(OUT, "llama-tiny.gguf"), "llama")
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head_kv)
    writer.add_embedding_length(hidden)
    writer.add_block_count(1)
    writer.add_tensor("blk.0.attn_q.weight", llama_permute(q, n_head))
    writer.add_tensor("blk.0.attn_k.weight", llama_permute(k, n_head_kv))
    writer.add_tensor("blk.0.attn_v.weight", v)
    writer.add_tensor("blk.0.attn_norm.weight", np.ones(hidden, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with open(os.path.join(OUT, "llama-tiny-expected.safetensors"), "wb") as f:
        f.write(safetensors_bytes({"model.layers.0.self_attn.q_proj.weight": q,
                                   "model.layers.0.self_attn.k_proj.weight": k,
                                   "model.layers.0.self_attn.v_proj.weight": v}))


def imatrix_fixtures():
    # Legacy binary (llama.cpp imatrix.cpp save_imatrix): n_entries, then per entry name, ncall, nval,
    # values (sums of squared activations scaled to ncall calls); then last chunk and dataset name.
    entries = {"blk.0.attn_q.weight": (10, rng.uniform(0.5, 2, 32).astype(np.float32)),
               "blk.0.ffn_down.weight": (10, rng.uniform(0.5, 2, 64).astype(np.float32))}
    with open(os.path.join(OUT, "tiny.imatrix"), "wb") as f:
        f.write(struct.pack("<i", len(entries)))
        for name, (ncall, values) in entries.items():
            b = name.encode()
            f.write(struct.pack("<i", len(b)) + b + struct.pack("<ii", ncall, len(values)) + values.tobytes())
        ds = b"wiki.train.raw"
        f.write(struct.pack("<i", 10) + struct.pack("<i", len(ds)) + ds)
    # GGUF form (llama.cpp imatrix.cpp, 2025): <name>.in_sum2 [n_in] and <name>.counts [1].
    writer = gguf.GGUFWriter(os.path.join(OUT, "tiny.imatrix.gguf"), "imatrix")
    writer.add_type("imatrix")
    for name, (ncall, values) in entries.items():
        writer.add_tensor(name + ".in_sum2", values)
        writer.add_tensor(name + ".counts", np.array([ncall], dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with open(os.path.join(OUT, "imatrix-expected.safetensors"), "wb") as f:
        f.write(safetensors_bytes({name: values / ncall for name, (ncall, values) in entries.items()}))


def npy_fixture():
    x = rng.standard_normal((6, 4)).astype(np.float32)
    np.save(os.path.join(OUT, "activations.npy"), x)
    np.save(os.path.join(OUT, "activations-f8.npy"), x.astype(np.float64))
    np.save(os.path.join(OUT, "activations-fortran.npy"), np.asfortranarray(x.astype(np.float64)))
    with open(os.path.join(OUT, "activations-expected.safetensors"), "wb") as f:
        f.write(safetensors_bytes({"x": x}))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    quant_fixture()
    llama_fixture()
    imatrix_fixtures()
    npy_fixture()
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)))
