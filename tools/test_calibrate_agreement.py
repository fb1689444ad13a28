"""`spqr-explorer calibrate` against tools/collect_hessians.py's accumulation on the same model and token
windows: every Hessian the Swift runtime writes must match the Python collector's within float32
accumulation tolerance (2e-5 of the largest diagonal entry; the fixture test measured 3.4e-6).
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


from fetched import ROOT, fetched

SEQLEN, NSAMPLES = 64, 6


def test_calibrate_matches_collect_hessians(tmp_path):
    model = fetched("fetch-model.sh")[0]
    calibration = fetched("fetch-text.sh")[0]
    exe = os.environ.get("SPQR_EXPLORER", os.path.join(ROOT, ".build", "debug", "spqr-explorer"))
    if not os.path.exists(exe):
        pytest.skip(f"{exe} is not built")
    text = tmp_path / "text.txt"
    with open(calibration, encoding="utf-8") as f:
        text.write_text(f.read()[:12000], encoding="utf-8")
    swift = tmp_path / "swift.safetensors"
    subprocess.run([exe, "calibrate", model, "--text", str(text), "--out", str(swift), "--seqlen", str(SEQLEN),
                    "--nsamples", str(NSAMPLES), "--sampling", "even"], check=True)
    # The same windows for the Python collector: the runtime's own token ids (SmolLM2 adds no BOS), spaced
    # as collect_hessians.windows spaces them, so that only the Hessians are compared here.
    ids = json.loads(subprocess.run([exe, "tokenize", model, "--text", str(text), "--json"], check=True,
                                    capture_output=True, text=True).stdout)["ids"]
    count = len(ids) // SEQLEN
    sequences = [ids[int(i * count / NSAMPLES) * SEQLEN:][:SEQLEN] for i in range(NSAMPLES)]
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import collect_hessians
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    reference, _, _ = collect_hessians.load_model(model)
    sites, members, tokens = collect_hessians.collect(reference, sequences, None, True)
    got = safetensors_numpy.load_file(str(swift))
    from safetensors import safe_open
    with safe_open(str(swift), "np") as f:
        meta = f.metadata()
    layers = {w: "hessian." + site for site, names in members.items() for w in names}
    assert json.loads(meta["layers"]) == layers
    assert (meta["n_sequences"], meta["n_tokens"], meta["seq_len"]) == (str(NSAMPLES), str(tokens), str(SEQLEN))
    worst = 0.0
    for site, state in sites.items():
        want = state["H"].numpy()
        scale = float(np.abs(np.diag(want)).max())
        diff = float(np.abs(got["hessian." + site] - want).max())
        worst = max(worst, diff / scale)
        assert diff <= 2e-5 * scale, site
    print(f"max |H_swift - H_python| / max diag = {worst:.2e} over {len(sites)} matrices")
