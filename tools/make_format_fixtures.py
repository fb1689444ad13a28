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


def finish(writer, expected, expected_name):
    """Writes the GGUF file and, beside it, the values a reader must produce."""
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with open(os.path.join(OUT, expected_name), "wb") as f:
        f.write(safetensors_bytes(expected))


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
    for name, dtype in [("f32", np.float32), ("f16", np.float16), ("f64", np.float64)]:
        a = rng.standard_normal((rows, cols)).astype(dtype)
        writer.add_tensor(name, a)
        expected[name] = a.astype(np.float32)
    bf = rng.standard_normal((rows, cols)).astype(np.float32)
    bf16 = (bf.view(np.uint32) >> 16).astype(np.uint16)
    writer.add_tensor("bf16", bf16.view(np.uint8).reshape(rows, cols * 2), raw_dtype=T.BF16)
    expected["bf16"] = (bf16.astype(np.uint32) << 16).view(np.float32)
    finish(writer, expected, "quants-expected.safetensors")


# The types added later, in a fixture of their own (quants-lowbit.gguf) drawn from a generator of their own,
# so that regenerating leaves the fixtures above unchanged. Byte offsets of fp16 scales per block; IQ1_M
# spreads its fp16 scale over the top nibbles of four u16 words at bytes 48..55; MXFP4 and NVFP4 scales
# are 8-bit (every byte is a valid scale).
LOWBIT_F16_FIELDS = {T.Q2_K: [80, 82], T.Q3_K: [108], T.IQ2_XXS: [0], T.IQ2_XS: [0], T.IQ2_S: [0], T.IQ3_XXS: [0],
                     T.IQ3_S: [0], T.IQ1_S: [0], T.IQ1_M: [], T.IQ4_NL: [0], T.IQ4_XS: [0], T.TQ1_0: [52],
                     T.TQ2_0: [64], T.MXFP4: [], T.NVFP4: []}
SPECIAL_F16 = [np.inf, -np.inf, np.nan, np.float16(2 ** -24), 0.0, -65504.0]


def set_iq1m_scale(raw, at, value):
    bits = int(np.float16(value).view(np.uint16))
    for k in range(4):
        word = int.from_bytes(raw[at + 48 + 2 * k: at + 50 + 2 * k], "little")
        word = (word & 0x0FFF) | (((bits >> (4 * k)) & 0xF) << 12)
        raw[at + 48 + 2 * k: at + 50 + 2 * k] = word.to_bytes(2, "little")


def lowbit_quant_fixture():
    """Random but valid blocks of every type (any bytes are a valid block once the scales are finite), and a
    `<type>_special` row whose scales are ±inf, NaN, subnormal, zero and the fp16 extreme (for MXFP4 and
    NVFP4 the scale bytes 0, 1, 0x7F, 0x80, 0xFE, 0xFF), dequantized by gguf-py."""
    g = np.random.default_rng(5678)
    rows, cols = 2, 512
    writer = gguf.GGUFWriter(os.path.join(OUT, "quants-lowbit.gguf"), "fixture")
    expected = {}
    for qt, fields in LOWBIT_F16_FIELDS.items():
        block, size = gguf.GGML_QUANT_SIZES[qt]
        for special in (False, True):
            shape = (1, 6 * max(block, 64)) if special else (rows, cols)
            nblocks = shape[0] * shape[1] // block
            raw = bytearray(g.integers(0, 256, nblocks * size, dtype=np.uint8).tobytes())
            for b in range(nblocks):
                values = [SPECIAL_F16[(b + i) % len(SPECIAL_F16)] if special else g.uniform(-1, 1) for i in range(2)]
                for off, v in zip(fields, values):
                    raw[b * size + off: b * size + off + 2] = np.float16(v).tobytes()
                if qt == T.IQ1_M:
                    set_iq1m_scale(raw, b * size, values[0])
                if special and qt == T.MXFP4:
                    raw[b * size] = [0, 1, 0x7F, 0x80, 0xFE, 0xFF][b % 6]
                if special and qt == T.NVFP4:
                    raw[b * size: b * size + 4] = bytes([0, 0x7F, 0x80, 0xFF] if b % 2 else [1, 0x08, 0x78, 0xFE])
            data = np.frombuffer(bytes(raw), dtype=np.uint8).reshape(shape[0], shape[1] // block * size)
            name = qt.name.lower() + ("_special" if special else "")
            writer.add_tensor(name, data, raw_dtype=qt)
            with np.errstate(invalid="ignore", over="ignore"):
                expected[name] = gguf.quants.dequantize(data, qt).reshape(shape)
    finish(writer, expected, "quants-lowbit-expected.safetensors")


def llama_permute(w, n_head):
    """llama.cpp convert_hf_to_gguf.py LlamaModel.permute."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama_fixture():
    # Every tensor kind of a llama block, in block 0 as F32 and in block 1 with q/k quantized to Q8_0, and
    # per-layer head counts given as an array (as some converters write them).
    n_head, n_head_kv, head_dim, hidden, ffn, vocab = 4, 2, 4, 32, 32, 8
    writer = gguf.GGUFWriter(os.path.join(OUT, "llama-tiny.gguf"), "llama")
    writer.add_head_count(n_head)
    writer.add_head_count_kv([n_head_kv, n_head_kv])
    writer.add_embedding_length(hidden)
    writer.add_block_count(2)
    expected = {}

    def matrix(rows, cols):
        return rng.standard_normal((rows, cols)).astype(np.float32)

    def add(gguf_name, hf_name, w, qtype=None, heads=None):
        stored = llama_permute(w, heads) if heads else w
        if qtype is None:
            writer.add_tensor(gguf_name, stored)
            expected[hf_name] = w
        else:
            q = gguf.quants.quantize(stored, qtype)
            writer.add_tensor(gguf_name, q, raw_dtype=qtype)
            deq = gguf.quants.dequantize(q, qtype).reshape(w.shape)
            # The Hugging Face order of what the file holds: undo the permutation on the dequantized rows.
            expected[hf_name] = llama_unpermute(deq, heads) if heads else deq

    add("token_embd.weight", "model.embed_tokens.weight", matrix(vocab, hidden))
    add("output.weight", "lm_head.weight", matrix(vocab, hidden))
    writer.add_tensor("output_norm.weight", np.ones(hidden, dtype=np.float32))
    for b, qtype in [(0, None), (1, T.Q8_0)]:
        pre = f"model.layers.{b}."
        add(f"blk.{b}.attn_q.weight", pre + "self_attn.q_proj.weight", matrix(n_head * head_dim, hidden), qtype, n_head)
        add(f"blk.{b}.attn_k.weight", pre + "self_attn.k_proj.weight", matrix(n_head_kv * head_dim, hidden), qtype, n_head_kv)
        writer.add_tensor(f"blk.{b}.attn_norm.weight", np.ones(hidden, dtype=np.float32))
        if b == 1:
            continue
        add(f"blk.{b}.attn_v.weight", pre + "self_attn.v_proj.weight", matrix(n_head_kv * head_dim, hidden))
        add(f"blk.{b}.attn_output.weight", pre + "self_attn.o_proj.weight", matrix(hidden, n_head * head_dim))
        add(f"blk.{b}.ffn_gate.weight", pre + "mlp.gate_proj.weight", matrix(ffn, hidden))
        add(f"blk.{b}.ffn_up.weight", pre + "mlp.up_proj.weight", matrix(ffn, hidden))
        add(f"blk.{b}.ffn_down.weight", pre + "mlp.down_proj.weight", matrix(hidden, ffn))
        writer.add_tensor(f"blk.{b}.ffn_norm.weight", np.ones(hidden, dtype=np.float32))
    finish(writer, expected, "llama-tiny-expected.safetensors")


def llama_unpermute(w, n_head):
    """The inverse of llama_permute."""
    return w.reshape(n_head, w.shape[0] // n_head // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def imatrix_fixtures():
    # Legacy binary (llama.cpp imatrix.cpp save_imatrix_legacy): n_entries, then per entry name, ncall,
    # nval, values (E[x²] scaled by ncall); then the chunk count and the dataset name.
    entries = {"blk.0.attn_q.weight": (10, rng.uniform(0.5, 2, 32).astype(np.float32)),
               "blk.0.ffn_down.weight": (10, rng.uniform(0.5, 2, 64).astype(np.float32))}
    with open(os.path.join(OUT, "tiny.imatrix"), "wb") as f:
        f.write(struct.pack("<i", len(entries)))
        for name, (ncall, values) in entries.items():
            b = name.encode()
            f.write(struct.pack("<i", len(b)) + b + struct.pack("<ii", ncall, len(values)) + (values * ncall).astype(np.float32).tobytes())
        ds = b"wiki.train.raw"
        f.write(struct.pack("<i", 10) + struct.pack("<i", len(ds)) + ds)
    # GGUF form (llama.cpp imatrix.cpp save_imatrix): <name>.in_sum2 with ne [n_in, n_mat] holding Σx²,
    # <name>.counts with ne [1, n_mat], and the datasets and chunk metadata. An expert entry with two
    # matrices, one of which saw no rows, checks the per-matrix division and llama.cpp's 1 for no data.
    writer = gguf.GGUFWriter(os.path.join(OUT, "tiny.imatrix.gguf"), "imatrix")
    writer.add_type("imatrix")
    writer.add_array("imatrix.datasets", ["wiki.train.raw"])
    writer.add_uint32("imatrix.chunk_count", 10)
    writer.add_uint32("imatrix.chunk_size", 512)
    counts_for = {"blk.0.attn_q.weight": 5120.0, "blk.0.ffn_down.weight": 5120.0}
    expected = {}
    for name, (_, values) in entries.items():
        n = counts_for[name]
        writer.add_tensor(name + ".in_sum2", (values * n).astype(np.float32).reshape(1, -1))
        writer.add_tensor(name + ".counts", np.array([[n]], dtype=np.float32))
        expected[name] = values
    experts = rng.uniform(0.5, 2, (2, 16)).astype(np.float32)
    writer.add_tensor("blk.0.ffn_up_exps.weight.in_sum2", (experts * np.array([[300.0], [0.0]], dtype=np.float32)))
    writer.add_tensor("blk.0.ffn_up_exps.weight.counts", np.array([[300.0], [0.0]], dtype=np.float32))
    expected["blk.0.ffn_up_exps.weight"] = np.concatenate([experts[0], np.ones(16, dtype=np.float32)])
    finish(writer, expected, "imatrix-expected.safetensors")


def npy_fixture():
    x = rng.standard_normal((6, 4)).astype(np.float32)
    np.save(os.path.join(OUT, "activations.npy"), x)
    np.save(os.path.join(OUT, "activations-f8.npy"), x.astype(np.float64))
    np.save(os.path.join(OUT, "activations-f2.npy"), x.astype(np.float16))
    np.save(os.path.join(OUT, "activations-3d.npy"), x.reshape(2, 3, 4))
    for version in [(2, 0), (3, 0)]:
        with open(os.path.join(OUT, f"activations-v{version[0]}.npy"), "wb") as f:
            np.lib.format.write_array(f, x, version=version)
    np.save(os.path.join(OUT, "activations-fortran.npy"), np.asfortranarray(x.astype(np.float64)))
    np.save(os.path.join(OUT, "activations-big-endian.npy"), x.astype(">f4"))
    np.save(os.path.join(OUT, "activations-int.npy"), np.arange(24, dtype=np.int32).reshape(6, 4))
    with open(os.path.join(OUT, "activations-expected.safetensors"), "wb") as f:
        f.write(safetensors_bytes({"x": x, "x_f16": x.astype(np.float16).astype(np.float32)}))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    quant_fixture()
    llama_fixture()
    imatrix_fixtures()
    npy_fixture()
    lowbit_quant_fixture()
    for name in sorted(os.listdir(OUT)):
        print(name, os.path.getsize(os.path.join(OUT, name)))
