#!/usr/bin/env bash
# Coverage-guided fuzzing of one file reader with libFuzzer and AddressSanitizer.
#   scripts/fuzz.sh TARGET [SECONDS]      TARGET: safetensors, gguf, imatrix, npy, recipe (default 60 s)
#   scripts/fuzz.sh --build               only (re)build the fuzzer, without the package build setup.sh runs
#                                         (scripts/test.sh builds it beside the test build)
# Starts from the fixtures in Tests/SpQRCoreTests/Fixtures (and a recipe), keeps the corpus it grows in
# .build-fuzz/corpus-TARGET, and any crashing input in .build-fuzz/crash-TARGET-*.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:?usage: scripts/fuzz.sh TARGET [SECONDS]}"
seconds="${2:-60}"
[ "$target" = --build ] || bash scripts/setup.sh debug >/dev/null
mkdir -p .build-fuzz
sources=$(find Sources/SpQRCore -name '*.swift' | sort)
if [ ! -x .build-fuzz/spqr-fuzz ] || [ -n "$(find Sources/SpQRCore Sources/SpQRFuzz -newer .build-fuzz/spqr-fuzz -name '*.swift')" ]; then
    # Built to a temporary name and moved into place, so a stopped build never leaves a fuzzer behind.
    rm -f .build-fuzz/spqr-fuzz.partial
    swiftc -sanitize=fuzzer,address -parse-as-library -DSPQR_LIBFUZZER -module-name SpQRFuzz -O \
        -I Sources/COpenBLAS -I Sources/COpenSSL -lopenblas -lcrypto $sources Sources/SpQRFuzz/Fuzz.swift \
        -o .build-fuzz/spqr-fuzz.partial 2>&1 | grep -v "Cannot export local symbol" >&2 || true
    [ -x .build-fuzz/spqr-fuzz.partial ] || { echo "fuzz.sh: the fuzzer did not build (errors above)" >&2; exit 1; }
    mv .build-fuzz/spqr-fuzz.partial .build-fuzz/spqr-fuzz
fi
[ "$target" != --build ] || exit 0
corpus=".build-fuzz/corpus-$target"
mkdir -p "$corpus"
case "$target" in
    safetensors) cp -n Tests/SpQRCoreTests/Fixtures/*.safetensors "$corpus"/ ;;
    gguf) cp -n Tests/SpQRCoreTests/Fixtures/*.gguf "$corpus"/ ;;
    imatrix) cp -n Tests/SpQRCoreTests/Fixtures/tiny.imatrix Tests/SpQRCoreTests/Fixtures/tiny.imatrix.gguf "$corpus"/ ;;
    npy) cp -n Tests/SpQRCoreTests/Fixtures/*.npy "$corpus"/ ;;
    recipe) sed -n '/^```json$/,/^```$/p' docs/recipe.md | sed '1d;$d' > "$corpus/example.json" ;;
    *) echo "unknown target $target" >&2; exit 2 ;;
esac
SPQR_FUZZ_TARGET="$target" ASAN_OPTIONS=detect_leaks=0 .build-fuzz/spqr-fuzz -max_total_time="$seconds" -rss_limit_mb=2048 \
    -artifact_prefix=".build-fuzz/crash-$target-" -print_final_stats=1 "$corpus"
