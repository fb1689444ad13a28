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
swift build -c "$config" --product spqr-explorer >&2
