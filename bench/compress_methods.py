#!/usr/bin/env python3
"""compress_methods.py: the peer of bench/compress_methods.c: kvpress 0.5.5 presses (and FastCache's CCM in
torch) on the same LLaVA-sized prefix KV, the same per-layer work.

  compress_methods.py SPEC [L Hkv S D REPS] [--ccm PTH]    prints "<best seconds for all L layers> <sum kept>"

SPEC is our method name with an optional :ratio=R. Each layer calls the press's own `compress` (score + topk
+ gather) on random keys/values. The presses that project queries from hidden states (SnapKV, TOVA,
ExpectedAttention) are handed precomputed queries through kvpress's get_prerope_query_states, so neither
side times the q projection, which belongs to the model's forward.
"""
import sys
import time
from types import SimpleNamespace

import torch

import kvpress
from kvpress import (ExpectedAttentionPress, KnormPress, ObservedAttentionPress, RandomPress, SnapKVPress,
                     StreamingLLMPress, TOVAPress)
from transformers import LlamaConfig
from transformers.models.llama.modeling_llama import LlamaRotaryEmbedding

PRESSES = {"knorm": KnormPress, "snapkv": SnapKVPress, "expected_attention": ExpectedAttentionPress,
           "streaming_llm": StreamingLLMPress, "tova": TOVAPress, "observed_attention": ObservedAttentionPress,
           "random": RandomPress}


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    ccm_path = sys.argv[sys.argv.index("--ccm") + 1] if "--ccm" in sys.argv else None
    if ccm_path:
        args.remove(ccm_path)
    spec = args[0]
    L, Hkv, S, D, reps = (list(map(int, args[1:6])) + [32, 32, 600, 128, 3][len(args[1:6]):])
    name, _, opt = spec.partition(":")
    ratio = float(opt.split("=")[1]) if opt.startswith("ratio=") else 2.0
    torch.manual_seed(0)
    H = Hkv
    keys, values = torch.rand(1, Hkv, S, D) - 0.5, torch.rand(1, Hkv, S, D) - 0.5
    q_pre = torch.rand(1, H, S, D) - 0.5
    hidden = torch.zeros(1, S, H * D)
    cfg = LlamaConfig(hidden_size=H * D, num_attention_heads=H, num_key_value_heads=Hkv, num_hidden_layers=L,
                      rope_theta=10000.0)
    rot = LlamaRotaryEmbedding(cfg)
    pe = rot(hidden, torch.arange(S).unsqueeze(0))
    attn = torch.softmax(torch.rand(1, H, S, S), dim=-1) if name == "observed_attention" else None

    def fake_q(module, h):  # the queries the model's forward would have made for these hidden states
        return q_pre[:, :, S - h.shape[1]:]

    for mod in (kvpress.presses.snapkv_press, kvpress.presses.expected_attention_press):
        mod.get_prerope_query_states = fake_q
    if name == "ccm":
        sys.path.insert(0, "tools")
        import convert_fastcache_pth as conv
        from safetensors.torch import load_file
        sd = conv.ours_to_pth(load_file(ccm_path))
        comp = conv.KVCacheLinearDecoupleCompressor(L, D, 5, 2)
        comp.load_state_dict(sd, strict=False)
        comp.eval()
        img = (35, min(35 + 576, S - 1))

        def run_layer(l):
            outs = []
            for which, x in (("k", keys), ("v", values)):
                parts = [conv.compress_layer(x[:, :, a:b], conv.mlp_for(comp, l, which, im), 5, 2)
                         for a, b, im in conv.segments(S, [img], "prefix")]
                outs.append(torch.cat(parts, dim=2))
            return outs[0].shape[2]
    else:
        press = PRESSES[name](compression_ratio=1.0 - 1.0 / ratio)
        if name == "random":
            press.seed = 0

        def run_layer(l):
            module = SimpleNamespace(config=cfg, head_dim=D, layer_idx=l, rotary_emb=rot)
            k2, _ = press.compress(module, hidden, keys, values, attn, {"position_embeddings": pe})
            return k2.shape[2]
    best, total = 1e30, 0
    with torch.no_grad():
        for _ in range(reps):
            t0 = time.perf_counter()
            total = sum(run_layer(l) for l in range(L))
            best = min(best, time.perf_counter() - t0)
    print(f"{best:.6f} {total}")


if __name__ == "__main__":
    main()
