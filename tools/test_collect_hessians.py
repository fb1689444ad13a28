"""Tests of tools/collect_hessians.py; they run wherever torch and transformers are installed:
    python3 -m pytest tools/test_collect_hessians.py
"""
import json
import math
import os
import sys

import pytest

torch = pytest.importorskip("torch", reason="torch is not installed")
transformers = pytest.importorskip("transformers", reason="transformers is not installed")
np = pytest.importorskip("numpy")
safetensors_numpy = pytest.importorskip("safetensors.numpy")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import collect_hessians as ch  # noqa: E402


def tiny_llama():
    config = transformers.LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    torch.manual_seed(0)
    return transformers.LlamaForCausalLM(config).eval()


def tiny_bert():
    config = transformers.BertConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                     num_attention_heads=4, max_position_embeddings=64)
    torch.manual_seed(0)
    return transformers.BertModel(config).eval()


def direct_hessians(model, sequences, module_names):
    """2/N sum x x^T over all tokens, N = number of sequences, from plain hooks."""
    seen = {n: [] for n in module_names}
    hooks = [dict(model.named_modules())[n].register_forward_hook(
        lambda m, i, o, n=n: seen[n].append(i[0].detach().reshape(-1, i[0].shape[-1]).double())) for n in module_names]
    with torch.no_grad():
        for s in sequences:
            ids = torch.tensor([s])
            model(input_ids=ids, attention_mask=torch.ones_like(ids))
    for h in hooks:
        h.remove()
    return {n: (2.0 / len(sequences)) * sum(x.t() @ x for x in xs) for n, xs in seen.items()}


@pytest.mark.parametrize("make,decoder", [(tiny_llama, True), (tiny_bert, False)])
def test_accumulation_matches_direct_sum(make, decoder):
    model = make()
    rng = np.random.default_rng(1)
    sequences = [rng.integers(0, 64, 12).tolist() for _ in range(5)]
    sites, members, tokens = ch.collect(model, sequences, {1}, decoder)
    assert tokens == 60
    want = direct_hessians(model, sequences, list(sites))
    for site, state in sites.items():
        got = state["H"].double()
        assert state["n"] == 5
        assert torch.allclose(got, want[site], rtol=1e-4, atol=1e-5), site
    if decoder:
        assert set(members["model.layers.1.self_attn.q_proj"]) == {
            "model.layers.1.self_attn.q_proj.weight", "model.layers.1.self_attn.k_proj.weight", "model.layers.1.self_attn.v_proj.weight"}
        assert set(members["model.layers.1.mlp.gate_proj"]) == {"model.layers.1.mlp.gate_proj.weight", "model.layers.1.mlp.up_proj.weight"}
    else:
        assert "encoder.layer.1.attention.self.query" in members
        assert len(members["encoder.layer.1.attention.self.query"]) == 3


def test_file_layout_and_packing(tmp_path):
    model = tiny_llama()
    sites, members, _ = ch.collect(model, [[1, 2, 3, 4]] * 2, {0}, True)
    out = tmp_path / "h.safetensors"
    layers = ch.write(str(out), sites, members, {"model": "tiny", "n_sequences": "2"}, triu_over=20)
    from safetensors import safe_open
    with safe_open(str(out), framework="numpy") as f:
        meta = f.metadata()
        assert meta["format"] == "spqr-explorer-hessians" and meta["format_version"] == "1"
        assert json.loads(meta["layers"]) == layers
        assert len(layers) == 7
        for name in set(layers.values()):
            n = sites[name[len("hessian."):]]["H"].shape[0]
            if n > 20:
                packed = f.get_tensor(name + ".triu")
                assert packed.shape == (n * (n + 1) // 2,)
                full = sites[name[len("hessian."):]]["H"].numpy()
                assert np.allclose(packed, full[np.triu_indices(n)])
            else:
                assert f.get_tensor(name).shape == (n, n)
    assert oct(os.stat(out).st_mode & 0o777) == "0o644"
    assert [p for p in os.listdir(tmp_path) if p.startswith(".")] == []


def test_input_sites():
    assert ch.input_site("model.layers.3.self_attn.v_proj") == "model.layers.3.self_attn.q_proj"
    assert ch.input_site("model.layers.3.mlp.up_proj") == "model.layers.3.mlp.gate_proj"
    assert ch.input_site("model.layers.3.mlp.down_proj") == "model.layers.3.mlp.down_proj"
    assert ch.block_of("encoder.layer.5.output.dense") == 5
