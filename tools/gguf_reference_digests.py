#!/usr/bin/env python3
"""Writes FOLDER/gguf-py-digests.json: for every *.gguf in FOLDER, the SHA-256 of each tensor's values as
llama.cpp's gguf-py dequantizes them (gguf.quants.dequantize; float32, little-endian, row-major [out, in]),
the figures GGMLQuantTypesTests compares the Swift dequantizer with when SPQR_GGUF_QUANTS=FOLDER.
Requires: pip install gguf numpy.

    python3 tools/gguf_reference_digests.py FOLDER
"""
import hashlib
import json
import os
import sys
from importlib.metadata import version

import numpy as np
from gguf import GGUFReader
from gguf.quants import dequantize


def main():
    folder = sys.argv[1]
    files = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".gguf"):
            continue
        path = os.path.join(folder, name)
        reader = GGUFReader(path)
        tensors = {}
        for t in reader.tensors:
            values = np.ascontiguousarray(dequantize(t.data, t.tensor_type), dtype="<f4")
            assert values.size == t.n_elements, (name, t.name)
            tensors[t.name] = {"type": t.tensor_type.name, "sha256": hashlib.sha256(values.tobytes()).hexdigest()}
        files[name] = {"bytes": os.path.getsize(path), "tensors": tensors}
        types = sorted({v["type"] for v in tensors.values()})
        print(f"{name}: {len(tensors)} tensors ({', '.join(types)})")
    out = os.path.join(folder, "gguf-py-digests.json")
    with open(out + ".tmp", "w") as f:
        json.dump({"gguf_py": version("gguf"), "files": files}, f, indent=1, sort_keys=True)
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()
