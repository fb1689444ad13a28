#!/usr/bin/env bash
# Allocated against uniform bits on SmolLM2-135M-Instruct: for each target of average bits, `allocate` (one
# setting per layer) → quantize-model --recipe → eval, beside the cheapest uniform setting whose average bits
# are not lower (allocate reports it) → quantize-model → eval; both with the same Hessians from `calibrate`.
# Two error weights: the layers' proxy loss alone, and the predicted KL (allocate --text on the calibration
# text: each layer's sensitivity measured on the model). Prints a Markdown table (target, achieved bits,
# perplexity and KL for each). Heavy: run on a quiet machine.
# Usage: scripts/allocation-proof.sh [WORKDIR] [TARGETS...]   (defaults: allocation-proof, 3.0 3.5 4.0)
# Environment: SPQR_BIN (default .build/release/spqr-explorer), NSAMPLES (32), EVAL_WINDOWS (16 × 512 tokens),
# SENSITIVITY_WINDOWS (4 × 256 tokens), MENU (default below).
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${SPQR_BIN:-.build/release/spqr-explorer}"
work="${1:-allocation-proof}"
[ $# -gt 0 ] && shift
if [ $# -gt 0 ]; then targets=("$@"); else targets=(3.0 3.5 4.0); fi
menu="${MENU:-wbits=2,3,4,5;groupsize=16,32,64,128;outlier_threshold=0.2,off}"
model="$(bash scripts/fetch-model.sh)"
texts="$(bash scripts/fetch-text.sh)"
calib="$(echo "$texts" | sed -n 1p)"
heldout="$(echo "$texts" | sed -n 2p)"
mkdir -p "$work"
h="$work/hessians.safetensors"
[ -f "$h" ] || nice -n 10 "$bin" calibrate "$model" --text "$calib" --nsamples "${NSAMPLES:-32}" --out "$h"
evaluate() {  # $1 model, $2 output json
    [ -f "$2" ] || nice -n 10 "$bin" eval "$1" --text "$heldout" --base "$model" --seqlen 512 \
        --max-windows "${EVAL_WINDOWS:-16}" --json > "$2"
}
for t in "${targets[@]}"; do
    nice -n 10 "$bin" allocate "$model" --hessians "$h" --target-bits "$t" --menu "$menu" \
        --out "$work/recipe-$t.json" --force --json > "$work/allocate-$t.json"
    nice -n 10 "$bin" allocate "$model" --hessians "$h" --target-bits "$t" --menu "$menu" \
        --text "$calib" --nsamples "${SENSITIVITY_WINDOWS:-4}" \
        --out "$work/recipe-kl-$t.json" --force --json > "$work/allocate-kl-$t.json"
    read -r -a uniform < <(python3 -c '
import json, sys
c = json.load(open(sys.argv[1]))["uniform"]["config"]
print(" ".join(f"--{k}={c[k]}" for k in ("wbits", "groupsize", "outlier_threshold")))' "$work/allocate-$t.json")
    for kind in allocated allocated-kl uniform; do
        out="$work/$kind-$t.gguf"
        if [ ! -f "$work/eval-$kind-$t.json" ]; then
            case "$kind" in
                allocated) settings=(--recipe "$work/recipe-$t.json") ;;
                allocated-kl) settings=(--recipe "$work/recipe-kl-$t.json") ;;
                *) settings=("${uniform[@]}") ;;
            esac
            rm -f "$out"
            nice -n 10 "$bin" quantize-model "$model" "${settings[@]}" --hessians "$h" --out "$out" --json \
                > "$work/quantize-$kind-$t.json"
            evaluate "$out" "$work/eval-$kind-$t.json"
            rm -f "$out"
        fi
    done
done
python3 - "$work" "${targets[@]}" <<'PY'
import json, sys
work, targets = sys.argv[1], sys.argv[2:]
def load(name): return json.load(open(f"{work}/{name}"))
print("| target | by proxy loss: bits | ppl | KL | by predicted KL: bits | ppl | KL | uniform setting | bits | ppl | KL |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for t in targets:
    row = [t]
    for kind in ("allocated", "allocated-kl", "uniform"):
        q = load(f"quantize-{kind}-{t}.json")["totals"]
        e = load(f"eval-{kind}-{t}.json")
        if kind == "uniform":
            c = load(f"allocate-{t}.json")["uniform"]["config"]
            row.append(f"{c['wbits']}b g{c['groupsize']} τ {c['outlier_threshold']}")
        row += [f"{q['avg_bits']:.3f}", f"{e['ppl']:.3f}", f"{e['kl_mean']:.4f}"]
    print("| " + " | ".join(row) + " |")
base = load(f"eval-allocated-{targets[0]}.json")
print(f"\nbase model ppl {base['base_ppl']:.3f} on the same {base['n_windows']} windows of {base['seqlen']} tokens")
PY
