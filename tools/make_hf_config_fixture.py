#!/usr/bin/env python3
"""The transformers config of SmolLM2-135M-Instruct read from its GGUF, for the test of
ModelConfig.huggingFaceConfig() (Tests/SpQRModelTests/Fixtures/smollm2-hf-config.json).

transformers' GGUF loader (AutoConfig.from_pretrained(dir, gguf_file=...)) maps the GGUF metadata to the
model's config; the fields a config.json carries for the runtime are kept. `architectures`, which the GGUF
loader leaves unset, is transformers' causal-LM class of the model_type. Usage:

    python3 tools/make_hf_config_fixture.py MODEL.gguf OUT.json
"""
import json
import os
import sys

from transformers import AutoConfig, __version__
from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

FIELDS = [
    "model_type", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "head_dim", "rms_norm_eps", "vocab_size", "max_position_embeddings",
    "tie_word_embeddings", "attention_bias", "mlp_bias", "hidden_act", "bos_token_id", "eos_token_id",
]


def main(model, out):
    c = AutoConfig.from_pretrained(os.path.dirname(os.path.abspath(model)), gguf_file=os.path.basename(model))
    d = c.to_dict()
    fixture = {k: d[k] for k in FIELDS}
    fixture["architectures"] = [MODEL_FOR_CAUSAL_LM_MAPPING_NAMES[c.model_type]]
    rope = d.get("rope_parameters") or {}
    fixture["rope_theta"] = rope.get("rope_theta", d.get("rope_theta"))
    scaling = {k: v for k, v in rope.items() if k != "rope_theta"}
    fixture["rope_scaling"] = None if scaling.get("rope_type", "default") == "default" else scaling
    fixture["_source"] = f"{os.path.basename(model)}, transformers {__version__}"
    with open(out, "w") as f:
        json.dump(fixture, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
