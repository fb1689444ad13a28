#!/usr/bin/env python3
"""Writes Sources/SpQRCore/Formats/GGMLGrids.swift: the lookup tables of ggml's i-quants and 4-bit float
types, copied from ggml's ggml/src/ggml-common.h (the GGML_TABLE_BEGIN … GGML_TABLE_END blocks), with the
header's SHA-256 and the llama.cpp version recorded in the generated file. When the `gguf` package
(llama.cpp's gguf-py) is installed, every table is also checked against the copy gguf-py's quants.py
decodes with, so the Swift decoders and the reference they are tested against share one set of tables.

    python3 tools/make_ggml_grids.py LLAMA_CPP_DIR [--version TEXT]

LLAMA_CPP_DIR is a llama.cpp source tree, e.g. vendor/llama.cpp of the llama-cpp-python sdist
(pip download --no-binary :all: --no-deps llama-cpp-python; tar xf …). Prints each table's SHA-256 (of
its little-endian bytes), the figures the grids test of GGMLQuantTypesTests pins.
"""
import argparse
import hashlib
import os
import re
import struct
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "Sources", "SpQRCore", "Formats", "GGMLGrids.swift")

# (name in ggml-common.h, Swift name, C type, entries, what it is)
TABLES = [
    ("ksigns_iq2xs", "ksigns", "uint8_t", 128, "7 sign bits and their parity as the 8th (IQ2_XXS, IQ2_XS, IQ3_XXS)"),
    ("iq2xxs_grid", "iq2xxs", "uint64_t", 256, "8 magnitudes in {8, 25, 43} per entry (IQ2_XXS)"),
    ("iq2xs_grid", "iq2xs", "uint64_t", 512, "8 magnitudes in {8, 25, 43} per entry (IQ2_XS)"),
    ("iq2s_grid", "iq2s", "uint64_t", 1024, "8 magnitudes in {8, 25, 43} per entry (IQ2_S)"),
    ("iq3xxs_grid", "iq3xxs", "uint32_t", 256, "4 magnitudes in {4, 12, …, 62} per entry (IQ3_XXS)"),
    ("iq3s_grid", "iq3s", "uint32_t", 512, "4 odd magnitudes 1 … 15 per entry (IQ3_S)"),
    ("iq1s_grid", "iq1s", "uint64_t", 2048, "8 signed bytes in {−1, 0, 1} per entry (IQ1_S, IQ1_M)"),
    ("kvalues_iq4nl", "kvaluesIQ4NL", "int8_t", 16, "the non-linear 4-bit values (IQ4_NL, IQ4_XS)"),
    ("kvalues_fp4", "kvaluesMXFP4", "int8_t", 16, "e2m1 values doubled (MXFP4, NVFP4)"),
]
SWIFT_TYPE = {"uint8_t": "UInt8", "int8_t": "Int8", "uint32_t": "UInt32", "uint64_t": "UInt64"}
PACK = {"uint8_t": "B", "int8_t": "b", "uint32_t": "I", "uint64_t": "Q"}


def read_table(text, name, ctype, size):
    m = re.search(r"GGML_TABLE_BEGIN\(\s*%s\s*,\s*%s\s*,\s*[A-Za-z0-9_]+\s*\)(.*?)GGML_TABLE_END\(\)" % (ctype, name), text, re.S)
    assert m, f"{name} not found in ggml-common.h"
    body = re.sub(r"//[^\n]*", "", m.group(1))
    values = [int(v, 0) for v in re.findall(r"-?(?:0x[0-9a-fA-F]+|\d+)", body)]
    assert len(values) == size, f"{name}: {len(values)} values, expected {size}"
    return values


def le_bytes(values, ctype):
    return struct.pack("<%d%s" % (len(values), PACK[ctype]), *values)


def check_against_gguf_py(tables):
    try:
        import numpy as np
        from gguf import quants
    except ImportError:
        print("gguf-py not installed: tables not cross-checked")
        return
    def grid_bytes(cls):
        cls.init_grid()
        return cls.grid.reshape(cls.grid_shape).astype(np.int64)
    def unpack(values, width, signed):
        out = np.array([[(v >> (8 * j)) & 0xFF for j in range(width)] for v in values], dtype=np.int64)
        return np.where(out > 127, out - 256, out) if signed else out
    for cls, name, width, signed in [(quants.IQ2_XXS, "iq2xxs_grid", 8, False), (quants.IQ2_XS, "iq2xs_grid", 8, False),
                                     (quants.IQ2_S, "iq2s_grid", 8, False), (quants.IQ3_XXS, "iq3xxs_grid", 4, False),
                                     (quants.IQ3_S, "iq3s_grid", 4, False), (quants.IQ1_S, "iq1s_grid", 8, True)]:
        assert (grid_bytes(cls) == unpack(tables[name], width, signed)).all(), f"{name} differs from gguf-py's"
    assert list(quants.IQ2_XXS.ksigns) == tables["ksigns_iq2xs"], "ksigns differ from gguf-py's"
    assert list(quants.IQ4_NL.kvalues) == tables["kvalues_iq4nl"], "kvalues_iq4nl differ from gguf-py's"
    assert list(quants.MXFP4.kvalues) == tables["kvalues_fp4"], "kvalues_fp4 differ from gguf-py's"
    print("every table equals gguf-py's")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("llama_cpp_dir")
    ap.add_argument("--version", help="how the source is named in the header (default: from git or the directory)")
    args = ap.parse_args()
    header = os.path.join(args.llama_cpp_dir, "ggml", "src", "ggml-common.h")
    raw = open(header, "rb").read()
    text = raw.decode()
    version = args.version
    if not version:
        try:
            commit = subprocess.check_output(["git", "-C", args.llama_cpp_dir, "rev-parse", "HEAD"], text=True).strip()
            version = f"llama.cpp commit {commit}"
        except (OSError, subprocess.CalledProcessError):
            version = os.path.abspath(args.llama_cpp_dir)
    tables = {name: read_table(text, name, ctype, size) for name, _, ctype, size, _ in TABLES}
    check_against_gguf_py(tables)

    lines = [
        "// ggml's lookup tables for the i-quants and the 4-bit float types. GENERATED by tools/make_ggml_grids.py",
        "// from ggml/src/ggml-common.h (GGML_TABLE_BEGIN blocks) — do not edit; re-run the script instead.",
        f"//   source: {version}",
        f"//   ggml-common.h SHA-256: {hashlib.sha256(raw).hexdigest()}",
        "// Data, not code: one concept (the reference tables) kept in one file, hence longer than 300 lines.",
        "// swift format leaves it as the script writes it:",
        "// swift-format-ignore-file",
        "// SHA-256 of each table's little-endian bytes (checked by the grids test of GGMLQuantTypesTests):",
    ]
    for name, swift, ctype, size, _ in TABLES:
        lines.append(f"//   {swift:<13} {hashlib.sha256(le_bytes(tables[name], ctype)).hexdigest()}")
    lines += ["", "/// ggml-common.h's tables, by the name of the type that uses them.", "enum GGMLGrids {"]
    for name, swift, ctype, size, what in TABLES:
        st = SWIFT_TYPE[ctype]
        per_line = {"uint64_t": 4, "uint32_t": 8, "uint8_t": 16, "int8_t": 16}[ctype]
        fmt = {"uint64_t": "0x%016x", "uint32_t": "0x%08x", "uint8_t": "0x%02x", "int8_t": "%d"}[ctype]
        lines.append(f"    /// `{name}` ({size} entries): {what}.")
        lines.append(f"    static let {swift}: [{st}] = [")
        vals = tables[name]
        for i in range(0, size, per_line):
            lines.append("        " + ", ".join(fmt % v for v in vals[i:i + per_line]) + ",")
        lines.append("    ]")
    lines.append("}")
    with open(OUT, "w") as f:
        f.write("\n".join(lines) + "\n")
    for name, swift, ctype, _, _ in TABLES:
        print(f"{swift}: {hashlib.sha256(le_bytes(tables[name], ctype)).hexdigest()}")


if __name__ == "__main__":
    main()
