#!/usr/bin/env python3
"""make_capture_fixtures.py: what the query-aware compression methods read from a prefill, computed the way
kvpress 0.5.5 computes it, for tests/unit/test_llm_capture.c; plus a decode over a cache whose layers have
different lengths (PyramidKV's layout), for the per-layer pool.

For each tiny model of tests/fixtures/llm/<name> (made by make_llm_fixtures.py), one prompt of T tokens is
prefilled with transformers (eager attention, f32, output_attentions) while a forward hook on every
self-attention module records, as the presses do from the module's input hidden_states:

  l<l>.q_window  f32 [H, W, D]   post-RoPE queries of the last W prompt tokens: kvpress
                                 SnapKVPress.compute_window_attention (get_prerope_query_states + rotate-half)
  l<l>.q_mean    f32 [H, D]      ExpectedAttentionPress.get_query_statistics before apply_avg_rope: mean of
  l<l>.q_cov     f32 [H, D, D]   the pre-RoPE queries of tokens [n_sink, T), population covariance
  l<l>.attn_sum  f32 [H, T]      ObservedAttentionPress: the eager attention weights summed over queries
                                 (attentions.sum(2), before its division by the count and head mean)
  inv_freq       f32 [D/2]       model.model.rotary_emb.inv_freq
  ids            i32 [T]         the prompt; meta i32 [W, n_sink]

Per-layer lengths: the prefill's DynamicCache is cut to its first lens[l] entries in layer l (layer 0
longest, so HF's eager mask, sized from layer 0, covers every layer), then tokens dec[0], dec[1] are decoded
at positions T, T+1 (positions continue from the uncompressed length, DESIGN §3):
  lens i32 [L], dec i32 [2], dec_logits f32 [2, V]

Deterministic (seeded); versions in each file's metadata and in VERSIONS.
"""
import os
import sys

import numpy as np
import safetensors.torch
import torch
import transformers
from transformers.cache_utils import DynamicCache

import kvpress
from kvpress.utils import get_prerope_query_states

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "tests", "fixtures", "llm")
OUT = os.path.join(HERE, "..", "tests", "fixtures", "capture")
MODELS = ["llama_gqa_tied", "qwen2_odd"]
T, W, N_SINK = 24, 6, 4


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2:]
    return torch.cat((-x2, x1), dim=-1)


def versions():
    return {"torch": torch.__version__, "transformers": transformers.__version__, "kvpress": kvpress.__version__
            if hasattr(kvpress, "__version__") else "0.5.5", "safetensors": safetensors.__version__,
            "numpy": np.__version__, "python": sys.version.split()[0]}


def make(name, seed):
    model = transformers.AutoModelForCausalLM.from_pretrained(os.path.join(SRC, name), dtype=torch.float32,
                                                              attn_implementation="eager")
    model.eval()
    cfg = model.config
    L, V = cfg.num_hidden_layers, cfg.vocab_size
    g = torch.Generator().manual_seed(seed)
    ids = torch.randperm(V - 3, generator=g)[:T] + 3
    rec = {}

    def hook(module, args, kwargs, output):
        l = module.layer_idx
        h = kwargs["hidden_states"]
        cos, sin = kwargs["position_embeddings"]
        q = get_prerope_query_states(module, h[:, -W:])
        c, s = cos[:, -W:].unsqueeze(1), sin[:, -W:].unsqueeze(1)
        rec[f"l{l}.q_window"] = ((q * c) + (rotate_half(q) * s))[0]
        qs = get_prerope_query_states(module, h[:, N_SINK:])
        mu = qs.mean(dim=2, keepdim=True)
        cen = qs - mu
        rec[f"l{l}.q_cov"] = (torch.einsum("bnsi,bnsj->bnij", cen, cen) / h[:, N_SINK:].shape[1])[0]
        rec[f"l{l}.q_mean"] = mu.squeeze(2)[0]
        rec[f"l{l}.attn_sum"] = output[1].sum(2)[0]

    hooks = [layer.self_attn.register_forward_hook(hook, with_kwargs=True) for layer in model.model.layers]
    with torch.no_grad():
        out = model(ids[None], use_cache=True, output_attentions=True)
    for hk in hooks:
        hk.remove()
    rec["inv_freq"] = model.model.rotary_emb.inv_freq.float()
    rec["ids"] = ids.to(torch.int32)
    rec["meta"] = torch.tensor([W, N_SINK], dtype=torch.int32)

    lens = [T - 3 - 7 * l for l in range(L)]  # 21, 14: different block counts at block size 4
    cache = out.past_key_values
    cut = DynamicCache()
    for l in range(L):
        k, v = cache.layers[l].keys, cache.layers[l].values
        cut.update(k[:, :, : lens[l]].clone(), v[:, :, : lens[l]].clone(), l)
    dec = torch.randint(3, V, (2,), generator=g)
    logits = []
    with torch.no_grad():
        for i in range(2):
            pos = torch.tensor([[T + i]])
            o = model(dec[i:i + 1][None], past_key_values=cut, position_ids=pos, cache_position=pos[0],
                      use_cache=True)
            logits.append(o.logits[0, -1])
            cut = o.past_key_values
    for l in range(L):
        assert cut.layers[l].keys.shape[2] == lens[l] + 2
    rec["lens"] = torch.tensor(lens, dtype=torch.int32)
    rec["dec"] = dec.to(torch.int32)
    rec["dec_logits"] = torch.stack(logits).float()
    rec = {k: v.detach().contiguous() for k, v in rec.items()}
    meta = {k: str(v) for k, v in versions().items()}
    meta["made_by"] = "tools/make_capture_fixtures.py"
    safetensors.torch.save_file(rec, os.path.join(OUT, f"{name}.safetensors"), metadata=meta)


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    for i, name in enumerate(MODELS):
        make(name, 1234 + i)
    with open(os.path.join(OUT, "VERSIONS"), "w") as f:
        f.write("made by tools/make_capture_fixtures.py\n")
        for k, v in versions().items():
            f.write(f"{k} {v}\n")


if __name__ == "__main__":
    main()
