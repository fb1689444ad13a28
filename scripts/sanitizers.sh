#!/usr/bin/env bash
# Runs the test suite under AddressSanitizer and under ThreadSanitizer (separate build folders).
#   scripts/sanitizers.sh [address|thread]...      (default: both)
# Leak checking is off: LeakSanitizer reports two 4 KiB buffers that FoundationEssentials' own
# readBytesFromFile (behind Data(contentsOf:)) never frees; nothing of the project's own.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh debug tmux
for sanitizer in "${@:-address thread}"; do
    for s in $sanitizer; do
        echo "== $s sanitizer" >&2
        swift build --build-tests --scratch-path ".build-$s" -Xswiftc -sanitize="$s"
        ASAN_OPTIONS=detect_leaks=0 TSAN_OPTIONS=halt_on_error=1 swift test --skip-build --scratch-path ".build-$s"
    done
done
