#!/usr/bin/env python3
"""Writes the hostile-file corpus in Tests/SpQRCoreTests/Fixtures/hostile: small crafted files that each
break one rule of a format. reasons.txt gives one line per file: `name: what is wrong`. The tests open
every file with its reader and require a specific error (no crash, no huge allocation).

    python3 tools/make_hostile_corpus.py
"""
import json
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "SpQRCoreTests", "Fixtures", "hostile")
reasons = {}


def put(name, data, reason):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    reasons[name] = reason


def st(header, data=b"", length=None):
    h = header.encode() if isinstance(header, str) else header
    return struct.pack("<Q", len(h) if length is None else length) + h + data


def gguf(version=3, tensors=0, kvs=0, body=b""):
    return b"GGUF" + struct.pack("<IQQ", version, tensors, kvs) + body


def gstr(s):
    b = s.encode() if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


os.makedirs(OUT, exist_ok=True)
put("safetensors-header-claims-terabytes.safetensors", st("{}", length=1 << 40), "the 8-byte header length claims 1 TiB")
put("safetensors-header-past-end.safetensors", st('{"a":1}', length=4096), "the header length runs past the end of the file")
put("safetensors-offsets-wrap.safetensors",
    st('{"w":{"dtype":"F32","shape":[2],"data_offsets":[18446744073709551608,8]}}', b"\0" * 8), "data_offsets beyond 2^63 (would wrap)")
put("safetensors-offsets-reversed.safetensors", st('{"w":{"dtype":"F32","shape":[1],"data_offsets":[8,4]}}', b"\0" * 8), "begin > end")
put("safetensors-overlapping.safetensors",
    st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', b"\0" * 12),
    "two tensors share bytes")
put("safetensors-dims-overflow.safetensors",
    st('{"w":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,0]}}'), "the dimensions' product overflows 64 bits")
put("safetensors-shape-bytes-mismatch.safetensors", st('{"w":{"dtype":"F32","shape":[3,3],"data_offsets":[0,8]}}', b"\0" * 8),
    "8 bytes for 9 F32 values")
put("safetensors-deep-json.safetensors", st("[" * 100000 + "]" * 100000), "100,000 nested JSON arrays")
put("safetensors-invalid-utf8-name.safetensors", st(b'{"\xff\xfe":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', b"\0" * 4),
    "a tensor name that is not UTF-8")
put("safetensors-not-an-object.safetensors", st("[1,2,3]"), "the header is a JSON array")
put("safetensors-truncated.safetensors", st('{"w":{"dtype":"F32","shape":[1024],"data_offsets":[0,4096]}}', b"\0" * 100),
    "the data section is cut short")
put("gguf-bad-magic.gguf", b"GGML" + b"\0" * 20, "magic GGML instead of GGUF")
put("gguf-version-99.gguf", gguf(version=99), "an unknown GGUF version")
put("gguf-count-billions.gguf", gguf(tensors=4_000_000_000, kvs=4_000_000_000), "tensor and metadata counts of four billion")
put("gguf-string-past-end.gguf", gguf(kvs=1, body=struct.pack("<Q", 1 << 50) + b"key"), "a metadata key longer than the file")
put("gguf-alignment-zero.gguf", gguf(kvs=1, body=gstr("general.alignment") + struct.pack("<II", 4, 0)), "general.alignment = 0")
put("gguf-deep-arrays.gguf", gguf(kvs=1, body=gstr("k") + struct.pack("<I", 9) + (struct.pack("<IQ", 9, 1)) * 64),
    "arrays nested 64 deep")
put("gguf-tensor-past-end.gguf",
    gguf(tensors=1, body=gstr("w") + struct.pack("<I", 2) + struct.pack("<QQ", 4096, 4096) + struct.pack("<IQ", 0, 0)),
    "a 64 MiB tensor in a file of a few bytes")
put("gguf-unknown-type.gguf",
    gguf(tensors=1, body=gstr("w") + struct.pack("<I", 1) + struct.pack("<Q", 32) + struct.pack("<IQ", 77, 0) + b"\0" * 64),
    "ggml type 77")
put("imatrix-truncated.imatrix", struct.pack("<i", 2) + struct.pack("<i", 5) + b"blk.0" + struct.pack("<ii", 10, 1000) + b"\0" * 16,
    "an entry claims 1000 values and the file ends")
put("imatrix-billions.imatrix", struct.pack("<i", 2_000_000_000), "two billion entries in a 4-byte file")
put("imatrix-negative-length.imatrix", struct.pack("<i", 1) + struct.pack("<i", -5), "a negative name length")
npy_header = lambda h: b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h
put("npy-fortran.npy", npy_header(b"{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }\n") + b"\0" * 16, "Fortran order")
put("npy-big-endian.npy", npy_header(b"{'descr': '>f4', 'fortran_order': False, 'shape': (2, 2), }\n") + b"\0" * 16, "big-endian floats")
put("npy-shape-overflow.npy", npy_header(b"{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 4), }\n"),
    "a shape whose byte count overflows")
put("npy-version-9.npy", b"\x93NUMPY\x09\x00" + b"\0" * 16, "an unknown .npy version")
put("recipe-deep.json", b"[" * 100000 + b"]" * 100000, "100,000 nested JSON arrays")
put("recipe-version-2.json", json.dumps({"format": "spqr-explorer-recipe", "format_version": 2}).encode(), "a newer format version")
put("recipe-wrong-types.json", json.dumps({"format": "spqr-explorer-recipe", "format_version": 1, "tool_version": 1,
                                            "created": "x", "model": {}, "calibration": {}, "defaults": {}, "layers": {}}).encode(),
    "tool_version is a number")
with open(os.path.join(OUT, "reasons.txt"), "w") as f:
    for name in sorted(reasons):
        f.write(f"{name}: {reasons[name]}\n")
print(f"{len(reasons)} hostile files in {OUT}")
