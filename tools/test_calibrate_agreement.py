"""`spqr-explorer calibrate` against tools/collect_hessians.py on the same text, model and windows: every
Hessian the Swift runtime writes must match the Python collector's within float32 accumulation tolerance.
Runs where torch and transformers are installed and SmolLM2 can be fetched (scripts/fetch-model.sh):
    python3 -m pytest tools/test_calibrate_agreement.py
The Swift executable is taken from $SPQR_EXPLORER or .build/debug/spqr-explorer.
"""
import json
import os
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")
pytest.importorskip("transformers", reason="transformers is not installed")
np = pytest.importorskip("numpy")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEQLEN, NSAMPLES = 64, 6


def fetched(script):
    run = subprocess.run(["bash", os.path.join(ROOT, "scripts", script)], capture_output=True, text=True)
    if run.returncode != 0:
        pytest.skip(f"scripts/{script} failed: {run.stderr.strip()}")
    return run.stdout.split()


def test_calibrate_matches_collect_hessians(tmp_path):
    model = fetched("fetch-model.sh")[0]
    calibration = fetched("fetch-text.sh")[0]
    exe = os.environ.get("SPQR_EXPLORER", os.path.join(ROOT, ".build", "debug", "spqr-explorer"))
    if not os.path.exists(exe):
        pytest.skip(f"{exe} is not built")
    text = tmp_path / "text.txt"
    with open(calibration, encoding="utf-8") as f:
        text.write_text(f.read()[:12000], encoding="utf-8")
    swift, python = tmp_path / "swift.safetensors", tmp_path / "python.safetensors"
    subprocess.run([exe, "calibrate", model, "--text", str(text), "--out", str(swift), "--seqlen", str(SEQLEN),
                    "--nsamples", str(NSAMPLES), "--sampling", "even"], check=True)
    subprocess.run([sys.executable, os.path.join(ROOT, "tools", "collect_hessians.py"), model, "--text", str(text),
                    "--out", str(python), "--seq-len", str(SEQLEN), "--n-sequences", str(NSAMPLES)], check=True)
    got, want = safetensors_numpy.load_file(str(swift)), safetensors_numpy.load_file(str(python))
    assert sorted(got) == sorted(want)
    from safetensors import safe_open
    meta = {}
    for path, out in [(swift, meta.setdefault("swift", {})), (python, meta.setdefault("python", {}))]:
        with safe_open(str(path), "np") as f:
            out.update(f.metadata())
    assert json.loads(meta["swift"]["layers"]) == json.loads(meta["python"]["layers"])
    for key in ["text_sha256", "n_sequences", "n_tokens", "seq_len"]:
        assert meta["swift"][key] == meta["python"][key], key
    worst = 0.0
    for name in want:
        scale = float(np.abs(np.diag(want[name])).max())
        worst = max(worst, float(np.abs(got[name] - want[name]).max()) / scale)
        assert np.abs(got[name] - want[name]).max() <= 1e-4 * scale, name
    print(f"max |H_swift - H_python| / max diag = {worst:.2e} over {len(want)} matrices")
