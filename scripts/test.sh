#!/usr/bin/env bash
# Sets up (apt packages including tmux for the end-to-end test) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh debug tmux
swift build --build-tests
swift test --skip-build
