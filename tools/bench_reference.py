"""Times the SpQR reference engine (Vahe1994/SpQR `spqr_engine.py`, `SPQRUtil.quantize`) on one layer.

`spqr-explorer bench --reference DIR` runs this on the layer it generated, with the settings it used, so
the bench can print the reference's time next to its own. Everything the reference does for one layer is
timed: permutation, damping, the three factorisations, the GPTQ loop with outliers, as `main.py` calls it.

usage: bench_reference.py REFERENCE_DIR LAYER.safetensors [main.py flags ...]
    LAYER.safetensors holds W (F32 [out, in]) and H (F32 [in, in]).
Prints one JSON line: {"seconds": ..., "threads": ..., "torch": ..., "n_outliers": ...}.
Needs torch, safetensors and tqdm (pip install "torch==2.15.*" safetensors tqdm).
"""

import argparse
import json
import sys
import time


def parse_flags(flags):
    p = argparse.ArgumentParser(prog="main.py flags")
    p.add_argument("--wbits", type=int, default=16)
    p.add_argument("--groupsize", type=int, default=None)
    p.add_argument("--perchannel", action="store_true")
    p.add_argument("--sym", action="store_true")
    p.add_argument("--round_zero", type=int, default=None)
    p.add_argument("--qq_scale_bits", type=int, default=None)
    p.add_argument("--qq_zero_bits", type=int, default=None)
    p.add_argument("--qq_zero_sym", action="store_true")
    p.add_argument("--qq_groupsize", type=int, default=16)
    p.add_argument("--outlier_threshold", type=float, default=float("inf"))
    p.add_argument("--permutation_order", type=str, default="identity")
    p.add_argument("--percdamp", type=float, default=0.01)
    p.add_argument("--simplified_outliers", action="store_true")
    p.add_argument("--nsamples", type=int, default=None)
    return p.parse_args(flags)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    reference, layer_path, flags = sys.argv[1], sys.argv[2], parse_flags(sys.argv[3:])
    sys.path.insert(0, reference)
    import torch
    from safetensors.torch import load_file
    from spqr_engine import SPQRUtil

    tensors = load_file(layer_path)
    w, h = tensors["W"], tensors["H"]
    layer = torch.nn.Linear(w.shape[1], w.shape[0], bias=False)
    layer.weight.data = w
    util = SPQRUtil(layer)
    util.H = h
    start = time.perf_counter()
    result = util.quantize(
        percdamp=flags.percdamp,
        bits=flags.wbits,
        groupsize=flags.groupsize,
        sym=flags.sym,
        perchannel=flags.perchannel,
        qq_groupsize=flags.qq_groupsize,
        round_zero=flags.round_zero,
        qq_scale_bits=flags.qq_scale_bits,
        qq_zero_bits=flags.qq_zero_bits,
        qq_zero_sym=flags.qq_zero_sym,
        outlier_relative_threshold=flags.outlier_threshold,
        permutation_order=flags.permutation_order,
        simplified_outliers=flags.simplified_outliers,
        verbose=False,
    )
    seconds = time.perf_counter() - start
    outliers = int(result.unstructured_outlier_mask.sum().item())
    print(json.dumps({"seconds": seconds, "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "n_outliers": outliers}))


if __name__ == "__main__":
    main()
