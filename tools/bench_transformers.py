#!/usr/bin/env python3
"""transformers' CPU throughput on given token windows, for `spqr-explorer eval --bench`.

Loads the model as tools/collect_hessians.py does (float32; GGUF dequantized), runs every window once
(plus one untimed warm-up window) with torch.no_grad on --threads threads and prints one JSON line:
{"tokens_per_s": ..., "seconds": ..., "windows": ..., "seqlen": ..., "threads": ..., "torch": ..., "transformers": ...}

Usage: python3 tools/bench_transformers.py MODEL WINDOWS.json --threads 2   (WINDOWS.json: [[ids], ...])
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collect_hessians  # noqa: E402


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("windows")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = p.parse_args()
    import torch
    import transformers
    torch.set_num_threads(args.threads)
    model, _, _ = collect_hessians.load_model(args.model)
    windows = json.load(open(args.windows))
    with torch.no_grad():
        model(input_ids=torch.tensor([windows[0]]))
        start = time.perf_counter()
        for w in windows:
            model(input_ids=torch.tensor([w]))
        seconds = time.perf_counter() - start
    tokens = sum(len(w) for w in windows)
    print(json.dumps({"tokens_per_s": tokens / seconds, "seconds": seconds, "windows": len(windows),
                      "seqlen": len(windows[0]), "threads": args.threads, "torch": torch.__version__,
                      "transformers": transformers.__version__}))


if __name__ == "__main__":
    main()
