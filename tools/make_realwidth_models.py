#!/usr/bin/env python3
"""make_realwidth_models.py OUT_DIR [--layers N]: real-width decoders with random weights, for speed and memory.

Writes OUT_DIR/vicuna7b-2l (LLaVA-1.5's Vicuna-7B text config: hidden 4096, 32 heads, FFN 11008, vocab
32064, f16) and OUT_DIR/qwen2-7b-2l (MiniCPM-V-2.6's Qwen2-7B llm_config.json: hidden 3584, 28/4 heads,
FFN 18944, vocab 151666, q/k/v bias, bf16), each cut to N layers (default 2), in the plain HF layout
(config.json + model.safetensors, "model.*" and "lm_head.weight"). Sizes come from the real configs in
$SHARED/data/models; weights are N(0, 1/fan_in) (norms 1), seeded. Never committed: ~1.3 GB and ~3.1 GB.
"""
import argparse
import json
import os

import torch
from safetensors.torch import save_file

SHARED = os.environ.get("SHARED", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared"))


def llama_config(layers):
    with open(os.path.join(SHARED, "data/models/llava-1.5-7b-hf/config.json")) as f:
        tc = json.load(f)["text_config"]
    # LlamaConfig defaults for what the LLaVA file leaves out (reference/model-architectures.md §2.1)
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
            "intermediate_size": 11008, "num_attention_heads": 32, "num_key_value_heads": 32,
            "num_hidden_layers": layers, "vocab_size": tc["vocab_size"], "rms_norm_eps": tc["rms_norm_eps"],
            "rope_theta": 10000.0, "max_position_embeddings": tc["max_position_embeddings"], "hidden_act": "silu",
            "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": 2, "torch_dtype": "float16"}


def qwen2_config(layers):
    with open(os.path.join(SHARED, "data/models/minicpm-v-2_6/llm_config.json")) as f:
        c = json.load(f)
    c["num_hidden_layers"] = layers
    return c


def weights(cfg, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    C, F, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, Hkv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    D = C // H
    bias = cfg["model_type"] == "qwen2"

    def rnd(*shape):
        return (torch.randn(*shape, generator=g) / shape[-1] ** 0.5).to(dtype)

    w = {"model.embed_tokens.weight": rnd(V, C), "model.norm.weight": torch.ones(C, dtype=dtype),
         "lm_head.weight": rnd(V, C)}
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        w[p + "input_layernorm.weight"] = torch.ones(C, dtype=dtype)
        w[p + "post_attention_layernorm.weight"] = torch.ones(C, dtype=dtype)
        w[p + "self_attn.q_proj.weight"] = rnd(H * D, C)
        w[p + "self_attn.k_proj.weight"] = rnd(Hkv * D, C)
        w[p + "self_attn.v_proj.weight"] = rnd(Hkv * D, C)
        w[p + "self_attn.o_proj.weight"] = rnd(C, H * D)
        if bias:
            for n, d in (("q", H * D), ("k", Hkv * D), ("v", Hkv * D)):
                w[p + f"self_attn.{n}_proj.bias"] = (0.02 * torch.randn(d, generator=g)).to(dtype)
        w[p + "mlp.gate_proj.weight"] = rnd(F, C)
        w[p + "mlp.up_proj.weight"] = rnd(F, C)
        w[p + "mlp.down_proj.weight"] = rnd(C, F)
    return w


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, default=2)
    a = ap.parse_args()
    for name, cfg, dtype in (("vicuna7b-2l", llama_config(a.layers), torch.float16),
                             ("qwen2-7b-2l", qwen2_config(a.layers), torch.bfloat16)):
        d = os.path.join(a.out, name)
        if os.path.exists(os.path.join(d, "model.safetensors")):
            print(f"{d}: exists")
            continue
        os.makedirs(d, exist_ok=True)
        w = weights(cfg, dtype, seed=7)
        save_file(w, os.path.join(d, "model.safetensors.tmp"), metadata={"format": "pt"})
        os.replace(os.path.join(d, "model.safetensors.tmp"), os.path.join(d, "model.safetensors"))
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        print(f"{d}: {sum(t.numel() for t in w.values())} params, {dtype}")


if __name__ == "__main__":
    main()
