#!/usr/bin/env python3
"""make_compress_fixtures.py: reference outputs of the KV compression methods, for tests/unit/test_compress*.c.

Writes tests/fixtures/compress/:
  press_llama.safetensors, press_qwen2.safetensors
      kvpress 0.5.5 run on a tiny random LlamaForCausalLM (MHA, like LLaVA's LLM) and Qwen2ForCausalLM (GQA and
      q/k/v bias, like MiniCPM-V's LLM). The press's `score` method is hooked, so what is saved is exactly what
      the press received in each layer during prefill:
        L{l}.k, L{l}.v        [Hkv, S, D]  keys (post-RoPE, as cached) and values
        L{l}.q_pre            [H, S, D]    pre-RoPE queries of every prompt token (q_proj output, bias included)
        L{l}.q_win            [H, W, D]    post-RoPE queries of the last W=64 tokens (SnapKV's window)
        L{l}.attn_colsum      [H, S]       eager attention weights summed over the query axis (ObservedAttention)
        inv_freq              [D/2]        the model's RoPE inverse frequencies
      and per press, ratio and layer the scores it computed ({press}.r{x}.L{l}.scores [Hkv, S]) and the kept
      indices from its own topk, sorted ascending ({press}.r{x}.L{l}.kept [Hkv, n_kept] int32). Since
      compression in prefill happens after a layer's attention output is computed, every press receives the
      same inputs; the script checks that (torch.equal) instead of storing them per press.
      The metadata "boundary_gaps" gives, per case, the smallest score gap at the keep/drop boundary relative to
      the boundary score, so a reader can see how far the fixture is from a tie.
  ccm_weights.safetensors    a random FastCache LLaVA-layout compressor (tools/convert_fastcache_pth.py output)
  ccm_ref.safetensors        random K, V with image spans and the torch outputs of the same compressor
  ccm_minicpm.safetensors    a random FastCache MiniCPM-layout compressor (tk/tv only, 1 layer, D=16)
  e2e_llama/, e2e_logits.safetensors
                             a tiny HF Llama and kvpress's logits for 4 tokens decoded on its compressed cache
  VERSIONS                   library versions that made these files

Deterministic: torch.manual_seed everywhere; run with the venv of tools/requirements.txt.
"""
import json
import os
import sys
import tempfile

import numpy as np
import torch
from safetensors import safe_open
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import convert_fastcache_pth as conv  # noqa: E402

import kvpress  # noqa: E402
import transformers  # noqa: E402
import safetensors  # noqa: E402
from kvpress import (ExpectedAttentionPress, KnormPress, ObservedAttentionPress, PyramidKVPress,  # noqa: E402
                     RandomPress, SnapKVPress, StreamingLLMPress, TOVAPress)
from kvpress.utils import get_prerope_query_states  # noqa: E402
from transformers.models.llama.modeling_llama import rotate_half  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "compress")
RATIOS = [2, 4, 8]          # "x" form; kvpress compression_ratio = 1 - 1/x (exact in binary for these)
S = 520                     # prompt length: 8x keeps 65 >= SnapKV's 64-token window, so the window never ties
W = 64
VOCAB = 1024

PRESSES = {
    "knorm": lambda cr: KnormPress(compression_ratio=cr),
    "snapkv": lambda cr: SnapKVPress(compression_ratio=cr),
    "expected_attention": lambda cr: ExpectedAttentionPress(compression_ratio=cr),
    "streaming_llm": lambda cr: StreamingLLMPress(compression_ratio=cr),
    "tova": lambda cr: TOVAPress(compression_ratio=cr),
    "observed_attention": lambda cr: ObservedAttentionPress(compression_ratio=cr),
    "pyramidkv": lambda cr: PyramidKVPress(compression_ratio=cr),
    "random": lambda cr: RandomPress(compression_ratio=cr, seed=0),
}


def tiny_model(family, attn):
    torch.manual_seed(1234)
    if family == "llama":
        cfg = transformers.LlamaConfig(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                       num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=2048,
                                       rope_theta=10000.0, attn_implementation=attn)
        m = transformers.LlamaForCausalLM(cfg)
    else:
        cfg = transformers.Qwen2Config(vocab_size=VOCAB, hidden_size=96, intermediate_size=128, num_hidden_layers=2,
                                       num_attention_heads=6, num_key_value_heads=2, max_position_embeddings=2048,
                                       rope_theta=1000000.0, attn_implementation=attn, use_sliding_window=False)
        m = transformers.Qwen2ForCausalLM(cfg)
    # random init gives near-uniform attention; larger q/k weights make the scores spread like a real model's
    with torch.no_grad():
        for layer in m.model.layers:
            layer.self_attn.q_proj.weight.mul_(4.0)
            layer.self_attn.k_proj.weight.mul_(4.0)
    return m.eval()


def run_press(model, press, ids, record):
    """Runs a prefill under `press`, recording per layer what its score method received and returned."""
    orig_score = press.score

    def score(module, hidden_states, keys, values, attentions, kwargs):
        sc = orig_score(module, hidden_states, keys, values, attentions, kwargs)
        record.append(dict(layer=module.layer_idx, module=module, hidden=hidden_states.detach().clone(),
                           keys=keys.detach().clone(), values=values.detach().clone(),
                           attn=None if attentions is None else attentions.detach().clone(),
                           pe=kwargs["position_embeddings"], scores=sc.detach().clone()))
        return sc

    press.score = score
    orig_compress = press.compress

    def compress(module, hidden_states, keys, values, attentions, kwargs):
        k2, v2 = orig_compress(module, hidden_states, keys, values, attentions, kwargs)
        record[-1]["k_out"] = k2.detach().clone()
        return k2, v2

    press.compress = compress
    with torch.no_grad(), press(model):
        model(ids, past_key_values=transformers.DynamicCache())


def kept_from_scores(press, module, scores, k_len):
    """The indices kvpress's compress keeps: the same topk call on the same scores."""
    if isinstance(press, PyramidKVPress):
        n_kept = press.get_layer_budget(module, k_len)
    else:
        n_kept = kvpress.utils.compute_n_kept(k_len, press.compression_ratio)
    return scores.topk(n_kept, dim=-1).indices, n_kept


def boundary_gap(scores, n_kept):
    s = scores[0].double().sort(dim=-1, descending=True).values
    if n_kept >= s.shape[-1]:
        return float("inf")
    gap = s[:, n_kept - 1] - s[:, n_kept]
    return (gap / s[:, n_kept - 1].abs().clamp_min(1e-30)).min().item()


def make_press_fixture(family):
    torch.manual_seed(7)
    # distinct token ids: with a repeated token, layer-0 keys differ only by RoPE, which keeps norms, so
    # Knorm's scores would tie exactly
    ids = torch.randperm(VOCAB)[:S].unsqueeze(0)
    models = {"sdpa": tiny_model(family, "sdpa"), "eager": tiny_model(family, "eager")}
    tensors, gaps, base = {}, {}, None
    cfg = models["sdpa"].config
    tensors["inv_freq"] = models["sdpa"].model.rotary_emb.inv_freq.float().contiguous()
    for name, make in PRESSES.items():
        for x in RATIOS:
            cr = 1.0 - 1.0 / x
            press = make(cr)
            attn = "eager" if name == "observed_attention" else "sdpa"
            rec = []
            run_press(models[attn], press, ids, rec)
            assert len(rec) == cfg.num_hidden_layers, (name, len(rec))
            for r in rec:
                l = r["layer"]
                idx, n_kept = kept_from_scores(press, r["module"], r["scores"], r["keys"].shape[2])
                # self-check: what the press returned is the gather of exactly these indices
                d = r["keys"].shape[-1]
                assert torch.equal(r["k_out"], r["keys"].gather(2, idx.unsqueeze(-1).expand(-1, -1, -1, d))), name
                kept = idx[0].sort(dim=-1).values.to(torch.int32).contiguous()
                tensors[f"{name}.r{x}.L{l}.kept"] = kept
                tensors[f"{name}.r{x}.L{l}.scores"] = r["scores"][0].float().contiguous()  # StreamingLLM's depend on x
                gaps[f"{name}.r{x}.L{l}"] = boundary_gap(r["scores"], n_kept)
                if attn == "sdpa":
                    if base is None:
                        base = {}
                    if l not in base:
                        base[l] = (r["keys"], r["values"], r["hidden"])
                        mod = r["module"]
                        q_pre = get_prerope_query_states(mod, r["hidden"])
                        cos, sin = r["pe"]
                        qw = q_pre[:, :, -W:]
                        qw = qw * cos[:, -W:].unsqueeze(1) + rotate_half(qw) * sin[:, -W:].unsqueeze(1)
                        tensors[f"L{l}.k"] = r["keys"][0].float().contiguous()
                        tensors[f"L{l}.v"] = r["values"][0].float().contiguous()
                        tensors[f"L{l}.q_pre"] = q_pre[0].float().contiguous()
                        tensors[f"L{l}.q_win"] = qw[0].float().contiguous()
                    else:
                        assert torch.equal(base[l][0], r["keys"]) and torch.equal(base[l][2], r["hidden"]), name
                else:
                    tensors[f"L{l}.attn_colsum"] = r["attn"][0].sum(1).float().contiguous()
    meta = {
        "family": family, "S": str(S), "H": str(cfg.num_attention_heads), "Hkv": str(cfg.num_key_value_heads),
        "D": str(cfg.hidden_size // cfg.num_attention_heads), "n_layers": str(cfg.num_hidden_layers),
        "rope_theta": repr(float(cfg.rope_theta)), "window": str(W), "ratios": ",".join(map(str, RATIOS)),
        "presses": ",".join(PRESSES), "boundary_gaps": json.dumps(gaps, sort_keys=True), **versions(),
    }
    path = os.path.join(OUT, f"press_{family}.safetensors")
    save_file(tensors, path, metadata=meta)
    worst = sorted(gaps.items(), key=lambda kv: kv[1])[:3]
    print(f"{path}: {len(tensors)} tensors; smallest boundary gaps {worst}")


def make_ccm_fixture():
    """A LLaVA-layout FastCache compressor (random init, D=32, cf=5) and its torch outputs on random KV."""
    torch.manual_seed(11)
    n_layers, D, cf, Hkv = 2, 32, 5, 3
    comp = conv.KVCacheLinearDecoupleCompressor(n_layers=n_layers, head_dim=D, compression_factor=cf,
                                                min_seq_len=2).eval()
    sd = {k: v.detach().clone() for k, v in comp.state_dict().items()}
    # the converter's own command line, both ways: a training checkpoint dict -> ours -> bare state_dict
    with tempfile.TemporaryDirectory() as tmp:
        pth, back = os.path.join(tmp, "ccm.pth"), os.path.join(tmp, "back.pth")
        torch.save({"epoch": 3, "model_state_dict": {"compressor": sd}, "loss": 0.5}, pth)
        ours = os.path.join(OUT, "ccm_weights.safetensors")
        conv.main([pth, ours, "--family", "llava", "--cf", str(cf)])
        conv.main(["--reverse", ours, back])
        sd2 = torch.load(back, weights_only=True)
        want = {k: v for k, v in sd.items() if not k.startswith("attention.")}
        assert sd2.keys() == want.keys() and all(torch.equal(sd2[k], want[k]) for k in want), "round trip"
        assert len(want) == n_layers * 4 * 6 and len(sd) == len(want) + 2 * n_layers
    # make the source name reproducible (it is a temporary path)
    with safe_open(ours, "pt") as f:
        meta, st_tensors = dict(f.metadata()), {k: f.get_tensor(k) for k in f.keys()}
    meta["source"] = "random init (tools/make_compress_fixtures.py)"
    save_file(st_tensors, ours, metadata=meta)
    # MiniCPM layout (tk/tv only): a FastCache checkpoint dict through the converter with --family minicpm
    mini = conv.KVCacheHybridCompressor(n_layers=1, head_dim=16, compression_factor=5, min_seq_len=2)
    with tempfile.TemporaryDirectory() as tmp:
        torch.save({"model_state_dict": {"compressor": mini.state_dict()}}, os.path.join(tmp, "m.pth"))
        mpath = os.path.join(OUT, "ccm_minicpm.safetensors")
        conv.main([os.path.join(tmp, "m.pth"), mpath, "--family", "minicpm"])
        conv.main(["--reverse", mpath, os.path.join(tmp, "back.pth"), "--checkpoint"])
        back = torch.load(os.path.join(tmp, "back.pth"), weights_only=True)["model_state_dict"]["compressor"]
        assert back.keys() == mini.state_dict().keys(), "minicpm round trip"
    with safe_open(mpath, "pt") as f:
        meta, st_tensors = dict(f.metadata()), {k: f.get_tensor(k) for k in f.keys()}
    assert meta["segment_rule"] == "whole" and meta["has_image"] == "0" and meta["position_rule"] == "original"
    meta["source"] = "random init (tools/make_compress_fixtures.py)"
    save_file(st_tensors, mpath, metadata=meta)
    S_ = 97
    # three cases: (name, image spans, segment rule)
    cases = [("spans", [(13, 66)], "spans"), ("two", [(2, 9), (40, 91)], "spans"), ("prefix", [(13, 66)], "prefix"),
             ("whole", [(13, 66)], "whole")]
    tensors = {}
    for l in range(n_layers):
        tensors[f"L{l}.k"] = torch.randn(Hkv, S_, D)
        tensors[f"L{l}.v"] = torch.randn(Hkv, S_, D)
    for name, spans, rule in cases:
        segs = conv.segments(S_, spans, rule)
        for l in range(n_layers):
            outs = []
            for which, x in (("k", tensors[f"L{l}.k"]), ("v", tensors[f"L{l}.v"])):
                parts = []
                for (a, b, is_img) in segs:
                    mlp = conv.mlp_for(comp, l, which, is_img)
                    parts.append(conv.compress_layer(x[None, :, a:b], mlp, cf, 2)[0])
                outs.append(torch.cat(parts, dim=1))
            tensors[f"{name}.L{l}.k_out"] = outs[0].contiguous()
            tensors[f"{name}.L{l}.v_out"] = outs[1].contiguous()
        tensors[f"{name}.spans"] = torch.tensor(spans, dtype=torch.int32).reshape(-1, 2)
    meta = {"S": str(S_), "Hkv": str(Hkv), "D": str(D), "cf": str(cf), "n_layers": str(n_layers),
            "cases": json.dumps({n: r for n, _, r in cases}), **versions()}
    save_file({k: v.contiguous() for k, v in tensors.items()}, os.path.join(OUT, "ccm_ref.safetensors"),
              metadata=meta)
    print("ccm fixtures written")


def make_e2e_fixture():
    """A tiny Llama in HF layout and kvpress's logits for 4 question tokens after compressing a 100-token
    context, fed at the original positions as kvpress's pipeline does (generate_answer: position_ids from
    the uncompressed context length). Only presses that need K/V alone: our LLM forward gives no queries."""
    torch.manual_seed(21)
    cfg = transformers.LlamaConfig(vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                   num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                                   rope_theta=10000.0, tie_word_embeddings=True, attn_implementation="sdpa")
    model = transformers.LlamaForCausalLM(cfg).eval()
    folder = os.path.join(OUT, "e2e_llama")
    model.save_pretrained(folder, safe_serialization=True)
    for extra in os.listdir(folder):
        if extra not in ("config.json", "model.safetensors"):
            os.remove(os.path.join(folder, extra))
    perm = torch.randperm(512)
    ctx, q = perm[:100].unsqueeze(0), perm[100:104].unsqueeze(0)
    tensors = {"context": ctx[0].to(torch.int32), "question": q[0].to(torch.int32)}
    cases = {"none": None, "knorm_r2": KnormPress(0.5), "knorm_r4": KnormPress(0.75),
             "streaming_llm_r4": StreamingLLMPress(0.75)}
    for name, press in cases.items():
        cache = transformers.DynamicCache()
        with torch.no_grad():
            if press is None:
                model.model(input_ids=ctx, past_key_values=cache)
            else:
                with press(model):
                    model.model(input_ids=ctx, past_key_values=cache)
            out = model(input_ids=q, past_key_values=cache, position_ids=torch.arange(100, 104).unsqueeze(0))
        tensors[f"{name}.logits"] = out.logits[0].float().contiguous()
        tensors[f"{name}.cache_len"] = torch.tensor([cache.get_seq_length() - 4], dtype=torch.int32)
    # FastCache's CCM (LLaVA layout, random init, converted to ours) on the same prefill, image span [10, 70)
    # cut by the checkpoint's "prefix" rule; new tokens renumbered from the compressed length (position_rule
    # "compressed", as FastCache's LLaVA was trained and served)
    comp = conv.KVCacheLinearDecoupleCompressor(n_layers=2, head_dim=16, compression_factor=5, min_seq_len=2).eval()
    with tempfile.TemporaryDirectory() as tmp:
        torch.save(comp.state_dict(), os.path.join(tmp, "c.pth"))
        cpath = os.path.join(OUT, "ccm_e2e.safetensors")
        conv.main([os.path.join(tmp, "c.pth"), cpath, "--family", "llava"])
    with safe_open(cpath, "pt") as f:
        meta, st_tensors = dict(f.metadata()), {k: f.get_tensor(k) for k in f.keys()}
    meta["source"] = "random init (tools/make_compress_fixtures.py)"
    save_file(st_tensors, cpath, metadata=meta)
    cache = transformers.DynamicCache()
    with torch.no_grad():
        model.model(input_ids=ctx, past_key_values=cache)
        for l, layer in enumerate(cache.layers):
            outs = []
            for which, x in (("k", layer.keys), ("v", layer.values)):
                outs.append(torch.cat([conv.compress_layer(x[:, :, a:b], conv.mlp_for(comp, l, which, im), 5, 2)
                                       for a, b, im in conv.segments(100, [(10, 70)], "prefix")], dim=2))
            layer.keys, layer.values = outs
        C = cache.get_seq_length()
        out = model(input_ids=q, past_key_values=cache, position_ids=torch.arange(C, C + 4).unsqueeze(0))
    tensors["ccm.logits"] = out.logits[0].float().contiguous()
    tensors["ccm.cache_len"] = torch.tensor([C], dtype=torch.int32)
    save_file(tensors, os.path.join(OUT, "e2e_logits.safetensors"), metadata=versions())
    print("e2e fixtures written")


def versions():
    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "kvpress": getattr(kvpress, "__version__", "0.5.5"), "safetensors": safetensors.__version__,
            "numpy": np.__version__, "generator": "tools/make_compress_fixtures.py"}


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    make_ccm_fixture()
    make_e2e_fixture()
    for fam in ("llama", "qwen2"):
        make_press_fixture(fam)
    with open(os.path.join(OUT, "VERSIONS"), "w") as f:
        for k, v in versions().items():
            f.write(f"{k}=={v}\n")


if __name__ == "__main__":
    main()
