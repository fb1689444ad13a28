"""The model and texts the tools' tests need, from scripts/fetch-model.sh and scripts/fetch-text.sh (cached
outside the clone); a test skips, saying why, when they cannot be had."""
import os
import subprocess

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def fetched(script):
    """The paths a fetch script prints, or a skip with its error."""
    run = subprocess.run(["bash", os.path.join(ROOT, "scripts", script)], capture_output=True, text=True)
    if run.returncode != 0:
        pytest.skip(f"scripts/{script} failed: {run.stderr.strip()}")
    return run.stdout.split()
