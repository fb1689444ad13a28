"""`spqr-explorer quantize-model` writes a GGUF that transformers loads (`gguf_file=`), and transformers'
perplexity of it on held-out windows equals the tool's own `eval` of the same file within 0.5%.

Both score the same token ids (the tool's tokenizer: transformers' GGUF tokenizer loader ignores
SmolLM2's digit-splitting pre-tokenizer) over the same non-overlapping windows. The tensors the run did
not quantize must come through byte for byte, and the quantized ones must be F16.
Runs where torch, transformers and gguf are installed and SmolLM2 can be fetched (scripts/fetch-model.sh):
    python3 -m pytest tools/test_quantize_model.py
The Swift executable is taken from $SPQR_EXPLORER or .build/debug/spqr-explorer. The calibration is kept
small (the debug build runs it); the bar's full-size run is in the README.
"""
import json
import math
import os
import subprocess

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")
transformers = pytest.importorskip("transformers", reason="transformers is not installed")
gguf = pytest.importorskip("gguf", reason="gguf is not installed")
np = pytest.importorskip("numpy")


from fetched import ROOT, fetched

SEQLEN, WINDOWS = 256, 4


def transformers_ppl(model, ids):
    """exp(mean over windows of the mean cross-entropy from the second token on): eval's protocol."""
    nlls = []
    with torch.no_grad():
        for w in range(len(ids) // SEQLEN)[:WINDOWS]:
            window = torch.tensor([ids[w * SEQLEN:(w + 1) * SEQLEN]])
            logits = model(window).logits[0].double()
            nlls.append(torch.nn.functional.cross_entropy(logits[:-1], window[0, 1:]).item())
    return math.exp(sum(nlls) / len(nlls))


def test_written_gguf_loads_in_transformers_with_the_tools_perplexity(tmp_path):
    model = fetched("fetch-model.sh")[0]
    calibration, heldout = fetched("fetch-text.sh")[:2]
    exe = os.environ.get("SPQR_EXPLORER", os.path.join(ROOT, ".build", "debug", "spqr-explorer"))
    if not os.path.exists(exe):
        pytest.skip(f"{exe} is not built")
    out = tmp_path / "smollm2-spqr.gguf"
    subprocess.run([exe, "quantize-model", model, "--text", calibration, "--nsamples", "4", "--seqlen", "64",
                    "--out", str(out), "--json"], check=True, stdout=subprocess.DEVNULL)
    report = json.loads((tmp_path / "smollm2-spqr.gguf.report.json").read_text())
    assert len(report["layers"]) == 7 * 30 and report["totals"]["bytes_output"] == out.stat().st_size
    assert not (tmp_path / "smollm2-spqr.gguf.partial").exists()

    source, written = gguf.GGUFReader(model), gguf.GGUFReader(str(out))
    quantized = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"}
    by_name = {t.name: t for t in source.tensors}
    assert [t.name for t in written.tensors] == [t.name for t in source.tensors]
    for t in written.tensors:
        if t.name.split(".")[-2] in quantized:
            assert t.tensor_type == gguf.GGMLQuantizationType.F16, t.name
        else:
            assert t.tensor_type == by_name[t.name].tensor_type, t.name
            assert bytes(t.data.tobytes()) == bytes(by_name[t.name].data.tobytes()), t.name
    assert set(f for f in source.fields) == set(f for f in written.fields)

    text = tmp_path / "heldout.txt"
    with open(heldout, encoding="utf-8") as f:
        text.write_text(f.read()[:40000], encoding="utf-8")
    ours = json.loads(subprocess.run([exe, "eval", str(out), "--text", str(text), "--seqlen", str(SEQLEN),
                                      "--max-windows", str(WINDOWS), "--json"], check=True, capture_output=True,
                                     text=True).stdout)
    ids = json.loads(subprocess.run([exe, "tokenize", str(out), "--text", str(text), "--json"], check=True,
                                    capture_output=True, text=True).stdout)["ids"]
    assert len(ids) >= SEQLEN * WINDOWS
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    loaded = transformers.AutoModelForCausalLM.from_pretrained(str(tmp_path), gguf_file=out.name,
                                                               torch_dtype=torch.float32)
    theirs = transformers_ppl(loaded, ids)
    print(f"perplexity on {WINDOWS} x {SEQLEN} held-out tokens: spqr-explorer eval {ours['ppl']:.5f}, "
          f"transformers {theirs:.5f} (ratio {theirs / ours['ppl']:.6f})")
    assert abs(theirs / ours["ppl"] - 1) < 0.005
