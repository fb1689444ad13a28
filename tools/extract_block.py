#!/usr/bin/env python3
"""Cut one transformer block out of a checkpoint, keeping its weights bit for bit, for the sample bundle.

  GGUF (llama.cpp): python3 tools/extract_block.py model.gguf --block 15 --out block.gguf
      keeps blk.N.* tensors in their stored type (e.g. Q4_1) and the metadata needed to read them
      (architecture, head counts, sizes, alignment); the block is renumbered 0 only if --renumber.
  safetensors:      python3 tools/extract_block.py model.safetensors --block 3 --out block.safetensors
      keeps the 2-D weights of that block (encoder.layer.N.* or model.layers.N.*) in their dtype.

Requires: numpy, gguf (for GGUF), safetensors (for safetensors).
"""
import argparse
import json
import os
import re
import struct
import sys
import tempfile


def atomic_path(out):
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(out) + ".", dir=os.path.dirname(os.path.abspath(out)))
    os.close(fd)
    return tmp


def gguf_block(path, block, out):
    import gguf
    import numpy as np

    reader = gguf.GGUFReader(path)
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    tmp = atomic_path(out)
    writer = gguf.GGUFWriter(tmp, arch)
    keep = {f"{arch}.attention.head_count", f"{arch}.attention.head_count_kv", f"{arch}.embedding_length",
            f"{arch}.feed_forward_length", f"{arch}.rope.dimension_count", f"{arch}.rope.freq_base",
            f"{arch}.attention.layer_norm_rms_epsilon", f"{arch}.context_length", f"{arch}.block_count",
            "general.name", "general.file_type", "general.quantization_version", "general.license"}
    for name, field in reader.fields.items():
        if name not in keep:
            continue
        vtype = field.types[0]
        value = field.parts[field.data[0]]
        if vtype == gguf.GGUFValueType.STRING:
            writer.add_key_value(name, bytes(value).decode(), vtype)
        else:
            writer.add_key_value(name, value.tolist()[0], vtype)
    writer.add_string("spqr_explorer.source", os.path.basename(path))
    writer.add_uint32("spqr_explorer.block", block)
    prefix = f"blk.{block}."
    count = 0
    for t in reader.tensors:
        if not t.name.startswith(prefix):
            continue
        data = np.array(t.data)
        writer.add_tensor(t.name, data, raw_shape=data.shape if t.tensor_type in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16) else None,
                          raw_dtype=t.tensor_type)
        count += 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    return count


def safetensors_block(path, block, out):
    from safetensors import safe_open
    from safetensors.numpy import save_file

    pattern = re.compile(rf"(^|\.)(layer|layers)\.{block}\.")
    tensors = {}
    with safe_open(path, framework="numpy") as f:
        for name in f.keys():
            if pattern.search(name):
                a = f.get_tensor(name)
                if a.ndim == 2:
                    tensors[name] = a
    tmp = atomic_path(out)
    save_file(tensors, tmp, metadata={"source": os.path.basename(path), "block": str(block)})
    os.chmod(tmp, 0o644)
    os.replace(tmp, out)
    return len(tensors)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("--block", type=int, required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    n = gguf_block(a.model, a.block, a.out) if a.model.endswith(".gguf") else safetensors_block(a.model, a.block, a.out)
    print(f"wrote {a.out}: {n} tensors of block {a.block}", file=sys.stderr)


if __name__ == "__main__":
    main()
