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
  ccm_llava_tiny_random.safetensors
                             a RANDOM (untrained) LLaVA-layout compressor fitting tests/fixtures/vlm/llava-tiny
                             (2 layers, D=8, cf=4), for the demo and CLI tests
  e2e_llama/, e2e_logits.safetensors, e2e_qwen2/, e2e_logits_qwen2.safetensors
                             tiny HF Llama / Qwen2 (GQA) models and kvpress's logits for 4 teacher-forced tokens
                             decoded on the cache each press compressed (every baseline but random, 2x/4x/8x),
                             plus FastCache's CCM on the Llama (see make_e2e_fixture)
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


E2E_CTX, E2E_Q, E2E_VOCAB = 200, 4, 512
# Short context: SnapKV/PyramidKV run with window 16 (kvpress's default 64 would leave 8x keeping fewer
# entries than the window, whose padded scores tie), PyramidKV with beta 2 so 2x and 4x get a real pyramid
# (kvpress falls back to SnapKV's uniform budget when (S/x)/beta < window: beta 20 always would here).
E2E_PRESSES = {
    "knorm": (lambda cr: KnormPress(cr), ""),
    "snapkv": (lambda cr: SnapKVPress(cr, window_size=16), ",window=16"),
    "expected_attention": (lambda cr: ExpectedAttentionPress(cr), ""),
    "streaming_llm": (lambda cr: StreamingLLMPress(cr), ""),
    "tova": (lambda cr: TOVAPress(cr), ""),
    "observed_attention": (lambda cr: ObservedAttentionPress(cr), ""),
    "pyramidkv": (lambda cr: PyramidKVPress(cr, window_size=16, beta=2), ",window=16,beta=2"),
}


def e2e_model(family, attn):
    torch.manual_seed(21 if family == "llama" else 22)
    common = dict(vocab_size=E2E_VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                  tie_word_embeddings=True, attn_implementation=attn)
    if family == "llama":
        m = transformers.LlamaForCausalLM(transformers.LlamaConfig(rope_theta=10000.0, **common))
    else:
        m = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(rope_theta=1000000.0, use_sliding_window=False,
                                                                   **common))
    with torch.no_grad():  # spread the attention as in tiny_model, so scores are far from ties
        for layer in m.model.layers:
            layer.self_attn.q_proj.weight.mul_(4.0)
            layer.self_attn.k_proj.weight.mul_(4.0)
    return m.eval()


def e2e_decode(model, cache, q, pos0):
    """Teacher-forced decode of the question tokens one at a time at positions pos0, pos0+1, ... (kvpress's
    generate_answer: position_ids from the uncompressed context length). One token per call keeps HF's masks
    trivial when PyramidKV leaves the layers at different lengths. Returns logits [n_q, V]."""
    rows = []
    for i in range(q.shape[1]):
        out = model(input_ids=q[:, i:i + 1], past_key_values=cache, position_ids=torch.tensor([[pos0 + i]]))
        rows.append(out.logits[0, -1])
    return torch.stack(rows).float().contiguous()


def make_e2e_fixture(family):
    """A tiny HF model (Llama, or Qwen2 with q/k/v bias; both GQA 4:2, D=16) and kvpress's logits for 4
    teacher-forced question tokens after each press compressed a 200-token context during prefill
    (`with press(model): model.model(ctx)`, as kvpress's pipeline does), at 2x, 4x, 8x.
    Writes e2e_{family}/ and e2e_logits[_qwen2].safetensors: context, question, none.logits,
    {press}.r{x}.logits [4, V], {press}.r{x}.cache_len [L] (per layer), spec of each case in the metadata."""
    model = e2e_model(family, "sdpa")
    eager = e2e_model(family, "eager")
    eager.load_state_dict(model.state_dict())
    folder = os.path.join(OUT, f"e2e_{family}")
    model.save_pretrained(folder, safe_serialization=True)
    for extra in os.listdir(folder):
        if extra not in ("config.json", "model.safetensors"):
            os.remove(os.path.join(folder, extra))
    torch.manual_seed(23)
    perm = torch.randperm(E2E_VOCAB)  # distinct tokens: no exact Knorm ties (see make_press_fixture)
    ctx, q = perm[:E2E_CTX].unsqueeze(0), perm[E2E_CTX:E2E_CTX + E2E_Q].unsqueeze(0)
    tensors = {"context": ctx[0].to(torch.int32), "question": q[0].to(torch.int32)}
    specs, gaps = {}, {}
    with torch.no_grad():
        cache = transformers.DynamicCache()
        model.model(input_ids=ctx, past_key_values=cache)
        tensors["none.logits"] = e2e_decode(model, cache, q, E2E_CTX)
        for name, (make, extra) in E2E_PRESSES.items():
            for x in RATIOS:
                press = make(1.0 - 1.0 / x)
                m = eager if name == "observed_attention" else model
                rec = []
                orig = press.score

                def score(module, hidden_states, keys, values, attentions, kwargs, orig=orig, rec=rec, press=press):
                    sc = orig(module, hidden_states, keys, values, attentions, kwargs)
                    _, n_kept = kept_from_scores(press, module, sc, keys.shape[2])
                    rec.append(boundary_gap(sc, n_kept))
                    return sc

                press.score = score
                cache = transformers.DynamicCache()
                with press(m):
                    m.model(input_ids=ctx, past_key_values=cache)
                lens = [cache.get_seq_length(l) for l in range(len(cache))]
                key = f"{name}.r{x}"
                tensors[f"{key}.logits"] = e2e_decode(m, cache, q, E2E_CTX)
                tensors[f"{key}.cache_len"] = torch.tensor(lens, dtype=torch.int32)
                specs[key] = f"{name}:ratio={x}{extra}"
                gaps[key] = min(rec)
                # our f32 K/Q differ from torch's by ~1e-6 relative (2-layer f32 model): a smaller
                # boundary gap could flip the kept set between the two sides
                assert gaps[key] > 1e-5, (family, key, gaps[key])
    meta = {"family": family, "context": str(E2E_CTX), "decode": "teacher-forced, one token per call, positions "
            "from the uncompressed context length", "specs": json.dumps(specs, sort_keys=True),
            "boundary_gaps": json.dumps(gaps, sort_keys=True), **versions()}
    if family == "llama":
        add_ccm_e2e(model, ctx, q, tensors)
    name = "e2e_logits.safetensors" if family == "llama" else f"e2e_logits_{family}.safetensors"
    save_file(tensors, os.path.join(OUT, name), metadata=meta)
    print(f"e2e fixtures for {family} written; smallest boundary gaps",
          sorted(gaps.items(), key=lambda kv: kv[1])[:3])


def add_ccm_e2e(model, ctx, q, tensors):
    """FastCache's CCM (LLaVA layout, random init, converted to ours) on the same prefill, image span [10, 70)
    cut by the checkpoint's "prefix" rule; new tokens renumbered from the compressed length (position_rule
    "compressed", as FastCache's LLaVA was trained and served)."""
    torch.manual_seed(24)
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
                                       for a, b, im in conv.segments(E2E_CTX, [(10, 70)], "prefix")], dim=2))
            layer.keys, layer.values = outs
        C = cache.get_seq_length()
        tensors["ccm.logits"] = e2e_decode(model, cache, q, C)
    tensors["ccm.cache_len"] = torch.tensor([C, C], dtype=torch.int32)


def make_ccm_llava_tiny():
    """A CCM checkpoint that fits tests/fixtures/vlm/llava-tiny (2 layers, head_dim 8), RANDOM weights, for
    the demo and the CLI tests of `fc-eval run --method ccm:...` (shapes and plumbing only: it was never
    trained, so its answers mean nothing). cf=4 so llava-tiny's 16 image tokens make 4 windows."""
    torch.manual_seed(25)
    comp = conv.KVCacheLinearDecoupleCompressor(n_layers=2, head_dim=8, compression_factor=4, min_seq_len=2).eval()
    path = os.path.join(OUT, "ccm_llava_tiny_random.safetensors")
    with tempfile.TemporaryDirectory() as tmp:
        torch.save(comp.state_dict(), os.path.join(tmp, "c.pth"))
        conv.main([os.path.join(tmp, "c.pth"), path, "--family", "llava", "--cf", "4"])
    with safe_open(path, "pt") as f:
        meta, st_tensors = dict(f.metadata()), {k: f.get_tensor(k) for k in f.keys()}
    meta["source"] = "RANDOM init, untrained (tools/make_compress_fixtures.py make_ccm_llava_tiny): for llava-tiny demos"
    save_file(st_tensors, path, metadata=meta)
    print(f"{path} written")


def versions():
    return {"torch": torch.__version__, "transformers": transformers.__version__,
            "kvpress": getattr(kvpress, "__version__", "0.5.5"), "safetensors": safetensors.__version__,
            "numpy": np.__version__, "generator": "tools/make_compress_fixtures.py"}


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    make_ccm_fixture()
    make_ccm_llava_tiny()
    for fam in ("llama", "qwen2"):
        make_e2e_fixture(fam)
    for fam in ("llama", "qwen2"):
        make_press_fixture(fam)
    with open(os.path.join(OUT, "VERSIONS"), "w") as f:
        for k, v in versions().items():
            f.write(f"{k}=={v}\n")


if __name__ == "__main__":
    main()
