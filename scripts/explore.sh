#!/usr/bin/env bash
# Sets up (apt packages, release build) and runs spqr-explorer; with no arguments it opens the bundled sample.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh release
exec .build/release/spqr-explorer "$@"
