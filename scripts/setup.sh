#!/usr/bin/env bash
# Installs the Debian packages spqr-explorer needs when they are missing (ncursesw, OpenBLAS, OpenSSL's
# libcrypto, libpng, and tmux for the end-to-end test), then builds. Usage: scripts/setup.sh [debug|release] [extra apt packages…]
set -euo pipefail
cd "$(dirname "$0")/.."
config="${1:-release}"
shift || true
need=()
for pkg in libncursesw5-dev libopenblas-dev libssl-dev libpng-dev "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH; install Swift 6 (swift.org) first" >&2; exit 1; }
# A release build is compiled for this machine's CPU, as the toolchain's clang names it for -march=native
# (on an AVX2 machine the SIMD code runs in eight-lane vectors instead of baseline x86-64's four-lane SSE2).
# SPQR_TARGET_CPU overrides it: x86-64 for a binary that runs on any x86-64 machine. The results are the
# same bits on every target, since Swift neither fuses a multiply and an add nor reorders a sum by itself.
flags=()
if [ "$config" = release ]; then
    cpu="${SPQR_TARGET_CPU-}"
    clang="$(dirname "$(command -v swift)")/clang"
    if [ -z "$cpu" ] && [ -x "$clang" ]; then
        cpu=$(echo | "$clang" -march=native -### -x c - 2>&1 | sed -n 's/.*"-target-cpu" "\([^"]*\)".*/\1/p' | head -n 1)
    fi
    if [ -n "$cpu" ]; then
        flags=(-Xswiftc -target-cpu -Xswiftc "$cpu")
        echo "setup: release build for the CPU $cpu (SPQR_TARGET_CPU=x86-64 builds for any x86-64)" >&2
    fi
fi
swift build -c "$config" --product spqr-explorer "${flags[@]}" >&2
