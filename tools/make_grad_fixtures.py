#!/usr/bin/env python3
"""make_grad_fixtures.py: torch-autograd references for the CCM distillation step (core/autograd/distill.h,
tests/unit/test_grad_torch.c).

For each tiny model it writes tests/fixtures/grad/<model>/:
  config.json, model.safetensors   the HF folder the C side loads with fc_llm_load (decoder only):
      llama    LlamaForCausalLM, MHA, tied = false
      qwen2    Qwen2ForCausalLM, GQA (4 query heads over 2 kv heads) with q/k/v bias
      llava    LlavaForConditionalGeneration (tiny CLIP 42px/14 -> 9 image tokens per image, Llama decoder),
               saved with transformers 4.57's names (model.language_model.*, model.vision_tower.*, ...)
      minicpmv MiniCPM-V's layout (model_type minicpmv, the Qwen2 decoder as llm.*; transformers has no
               class for the rest, and the student path only runs the decoder)
  ccm.safetensors   a CCM in our checkpoint format (core/compress/ccm.h), torch nn.Linear default init
                    (seeded), cf 3, hidden 12, depth 3, min_windows 1
  ops.safetensors   per op (linear, rmsnorm, rope, silu_mul, attention over [prefix; new] with GQA, the kl and
                    fastcache logit losses, the hidden-state term): f32 inputs, the upstream gradient dy and
                    torch's gradients (float64 from the f32 inputs), for tests/unit/test_autograd_ops.c
  case.safetensors  the sample and the references:
      prompt_ids i32 [P], spans i32 [n, 2] (start, end), embeds f32 [E, C], embeds_range i32 [2] (start, E),
      cont_ids i32 [T], supervised i32 [T], sup i32 [n_sup], teacher_logits f32 [n_sup, V],
      per case c: <c>.loss f32 [1], <c>.kl f32 [1], <c>.grad.<ccm tensor name> f32 (every CCM weight)
      metadata "cases": JSON {c: {"loss": "kl"|"fastcache", "tau": t, "position_rule": r}}, and versions.

The step (what distill.h specifies): the teacher prefills prompt[:-1] (token embeddings, image rows at the
image spans) with the full cache (HF DynamicCache, K post-RoPE); inputs = [prompt[-1], cont[:-1]] run
teacher-forced over it at positions S + t (S = P - 1) -> teacher logits and hidden_states. The student
compresses each layer's K and V with the CCM (segments by the checkpoint's rule: "spans" -> image spans
through ik/iv and the text runs through tk/tv; "whole" -> one tk/tv segment; windows of cf consecutive tokens,
raw remainder; the MLP shared by every kv head), builds a DynamicCache of the compressed K/V and runs the
same inputs with position_ids by the rule ("original": S + t, "compressed": C + t) and cache_position
C + t (causal among the new tokens). Losses over supervised inputs: kl = tau^2 KL(p_tau || q_tau) averaged;
fastcache = spec §6.3 (top-p 0.9 CE, JS, L1 at temperature tau, + 0.5 * the hidden-state term).

REFERENCE_F64: everything runs in float64 from the f32 weights, with two dtype-preserving replacements
(transformers' LlamaRMSNorm/Qwen2RMSNorm and the eager attention softmax compute in f32 even in an f64
model; the replacements compute the same function in the input's dtype, so in f32 they are the originals).
The weights are scaled so that the per-token KL is ~1 (a small-init lm_head gives KL ~0.2 and gradients
whose f32 rounding is a larger share of them); the generator prints each case's KL and loss.
Deterministic (seeded), CPU. GRAD_OUT=DIR writes elsewhere.
"""
import json
import math
import os
import sys

import numpy as np
import safetensors
import torch
import transformers
from safetensors.torch import save_file
from transformers import (CLIPVisionConfig, DynamicCache, LlamaConfig, LlamaForCausalLM, LlavaConfig,
                          LlavaForConditionalGeneration, Qwen2Config, Qwen2ForCausalLM)
from transformers.models.llama import modeling_llama
from transformers.models.qwen2 import modeling_qwen2

OUT = os.environ.get("GRAD_OUT", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                              "fixtures", "grad"))
torch.set_num_threads(1)
DT = torch.float64


# ---- dtype-preserving replacements (f64 reference) ----
def rms_forward(self, x):
    var = x.pow(2).mean(-1, keepdim=True)
    return self.weight * (x * torch.rsqrt(var + self.variance_epsilon))


def eager_attention(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
    k = modeling_llama.repeat_kv(key, module.num_key_value_groups)
    v = modeling_llama.repeat_kv(value, module.num_key_value_groups)
    w = torch.matmul(query, k.transpose(2, 3)) * scaling
    if attention_mask is not None:
        w = w + attention_mask[:, :, :, : k.shape[-2]]
    w = torch.softmax(w, dim=-1)
    out = torch.matmul(w, v).transpose(1, 2).contiguous()
    return out, w


modeling_llama.LlamaRMSNorm.forward = rms_forward
modeling_qwen2.Qwen2RMSNorm.forward = rms_forward
modeling_llama.eager_attention_forward = eager_attention
modeling_qwen2.eager_attention_forward = eager_attention

CF, HID, DEPTH, MINW = 3, 12, 3, 1


def scale_weights(model, g, lm_scale):
    """Weights at a conditioning where the KL of a random compressor is ~1 per token."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "vision_tower" in name or "multi_modal_projector" in name:
                continue
            if name.endswith("norm.weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            elif "lm_head" in name:
                p.copy_(torch.randn(p.shape, generator=g) * lm_scale / math.sqrt(p.shape[1]))
            elif name.endswith(".bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))


def decoder_parts(model):
    """(embedding, decoder model, lm_head) of a CausalLM or a LLaVA."""
    if isinstance(model, LlavaForConditionalGeneration):
        lm = model.model.language_model
        return lm.embed_tokens, lm, model.lm_head
    return model.model.embed_tokens, model.model, model.lm_head


def ccm_make(n_layers, D, has_image, g):
    """CCM weights as nn.Linear default init would draw them (torch's generator, seeded)."""
    torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=g)))
    params = {}
    kinds = ["ik", "iv", "tk", "tv"] if has_image else ["tk", "tv"]
    for l in range(n_layers):
        for k in kinds:
            for j in range(DEPTH):
                din = CF * D if j == 0 else HID
                dout = D if j == DEPTH - 1 else HID
                lin = torch.nn.Linear(din, dout)
                params[f"ccm.layers.{l}.{k}.{j}.weight"] = lin.weight.detach().clone()
                params[f"ccm.layers.{l}.{k}.{j}.bias"] = lin.bias.detach().clone()
    return params


def segments(rule, S, spans):
    if rule == "whole" or not spans:
        return [(0, S, False)]
    segs, pos = [], 0
    for a, b in spans:
        if a > pos:
            segs.append((pos, a - pos, False))
        segs.append((a, b - a, True))
        pos = b
    if pos < S:
        segs.append((pos, S - pos, False))
    return segs


def mlp(params, l, kind, x):
    for j in range(DEPTH):
        x = x @ params[f"ccm.layers.{l}.{kind}.{j}.weight"].T + params[f"ccm.layers.{l}.{kind}.{j}.bias"]
        if j < DEPTH - 1:
            x = torch.relu(x)
    return x


def compress(params, l, x, segs, is_k):
    """x [Hkv, S, D] -> [Hkv, C, D] (spec §1.1 per segment)."""
    Hkv, S, D = x.shape
    out = []
    for start, length, image in segs:
        kind = ("ik" if is_k else "iv") if image else ("tk" if is_k else "tv")
        n = length // CF
        seg = x[:, start:start + length]
        if n < MINW or n == 0:
            out.append(seg)
            continue
        win = seg[:, :n * CF].reshape(Hkv, n, CF * D)
        out.append(mlp(params, l, kind, win))
        out.append(seg[:, n * CF:])
    return torch.cat(out, dim=1)


def logit_loss(kind, tau, zt, zs):
    """zt, zs [n, V] -> (loss over rows, kl at tau 1)"""
    lp1, lq1 = torch.log_softmax(zt, -1), torch.log_softmax(zs, -1)
    kl1 = (lp1.exp() * (lp1 - lq1)).sum(-1).mean()
    lp, lq = torch.log_softmax(zt / tau, -1), torch.log_softmax(zs / tau, -1)
    if kind == "kl":
        return tau * tau * (lp.exp() * (lp - lq)).sum(-1).mean(), kl1
    eps = 1e-8
    p, q = lp.exp(), lq.exp()
    sp, idx = torch.sort(p, dim=-1, descending=True)
    before = torch.cumsum(sp, -1) - sp
    keep_sorted = (before <= 0.9).to(p.dtype)
    mask = torch.zeros_like(p).scatter(-1, idx, keep_sorted)
    pt = p * mask / ((p * mask).sum(-1, keepdim=True) + eps)
    ce = (-(pt * torch.log(q + eps)).sum(-1)).mean()
    m = 0.5 * (p + q)
    js = (0.5 * ((p * torch.log(p / (m + eps) + eps)).sum(-1) + (q * torch.log(q / (m + eps) + eps)).sum(-1))).mean()
    l1 = (p - q).abs().sum(-1).mean()
    return 0.5 * (0.5 * ce + 0.3 * js + 0.2 * l1), kl1


def hidden_loss(hs, ht):
    """spec §6.3 (d): lists of [n, C] over layers 1..L"""
    total = 0
    for a, b in zip(hs, ht):
        mse = torch.nn.functional.mse_loss(a, b)
        cos = torch.nn.functional.cosine_similarity(torch.softmax(a, -1), torch.softmax(b, -1), dim=-1, eps=1e-8)
        total = total + mse + (1 - cos.mean())
    return total / 2


def run_case(model, cfg_text, params, rule, sample, loss_kind, tau, pos_rule):
    emb, dec, head = decoder_parts(model)
    prompt, spans, embeds, erange, cont, sup = sample
    P = len(prompt)
    S = P - 1
    x = emb(torch.tensor([prompt[:S]]))
    if embeds is not None:
        x = x.clone()
        x[0, erange[0]:erange[0] + erange[1]] = embeds
    with torch.no_grad():
        out = dec(inputs_embeds=x, use_cache=True)
        cache = out.past_key_values
        ks = [cache.layers[l].keys[0].clone() for l in range(cfg_text.num_hidden_layers)]
        vs = [cache.layers[l].values[0].clone() for l in range(cfg_text.num_hidden_layers)]
        inputs = torch.tensor([[prompt[S]] + cont[:-1]])
        T = inputs.shape[1]
        tc = DynamicCache()
        for l in range(len(ks)):
            tc.update(ks[l][None].clone(), vs[l][None].clone(), l)
        to = dec(input_ids=inputs, past_key_values=tc, position_ids=torch.arange(S, S + T)[None],
                 output_hidden_states=True)
        t_logits = head(to.last_hidden_state)[0, sup]
        t_hidden = [h[0, sup] for h in to.hidden_states[1:-1]] + [to.last_hidden_state[0, sup]]
    # student
    ps = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    segs = segments(rule, S, spans)
    sc = DynamicCache()
    for l in range(len(ks)):
        kc = compress(ps, l, ks[l], segs, True)
        vc = compress(ps, l, vs[l], segs, False)
        sc.update(kc[None], vc[None], l)
    C = kc.shape[1]
    base = S if pos_rule == "original" else C
    so = dec(input_ids=inputs, past_key_values=sc, position_ids=torch.arange(base, base + T)[None],
             cache_position=torch.arange(C, C + T), output_hidden_states=True)
    s_logits = head(so.last_hidden_state)[0, sup]
    loss, kl1 = logit_loss(loss_kind, tau, t_logits, s_logits)
    if loss_kind == "fastcache":
        s_hidden = [h[0, sup] for h in so.hidden_states[1:-1]] + [so.last_hidden_state[0, sup]]
        loss = loss + 0.5 * hidden_loss(s_hidden, t_hidden)
    loss.backward()
    grads = {k: v.grad.detach().clone() for k, v in ps.items()}
    return loss.item(), kl1.item(), t_logits, grads, C


def save_ccm(path, params, family, n_layers, D, has_image, rule, pos_rule):
    meta = {"format": "fastcache-ccm", "format_version": "1", "family": family, "n_layers": str(n_layers),
            "head_dim": str(D), "cf": str(CF), "hidden": str(HID), "depth": str(DEPTH), "min_windows": str(MINW),
            "has_image": "1" if has_image else "0", "segment_rule": rule, "position_rule": pos_rule,
            "dropout": "0.4", "source": "tools/make_grad_fixtures.py"}
    save_file({k: v.to(torch.float32).contiguous() for k, v in params.items()}, path, metadata=meta)


def versions():
    return {"generator": "tools/make_grad_fixtures.py", "torch": torch.__version__,
            "transformers": transformers.__version__, "safetensors": safetensors.__version__,
            "numpy": np.__version__}


def make(name, seed, build, rule, has_image, n_spans, cases, lm_scale):
    g = torch.Generator().manual_seed(seed)
    model, text_cfg, save = build(g)
    scale_weights(model, g, lm_scale)
    model = model.to(torch.float32)  # the weights the C side reads
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    save(model, d)
    model = model.to(DT)
    D = text_cfg.head_dim if getattr(text_cfg, "head_dim", None) else text_cfg.hidden_size // text_cfg.num_attention_heads
    L, V, C = text_cfg.num_hidden_layers, text_cfg.vocab_size, text_cfg.hidden_size
    params = ccm_make(L, D, has_image, g)
    save_ccm(os.path.join(d, "ccm.safetensors"), params, name, L, D, has_image, rule, "original")
    params = {k: v.to(DT) for k, v in params.items()}
    # the sample: a prompt of 30 with image spans of 9 rows, a continuation of 10 (two answer turns)
    P, T, img = 30, 10, 9
    prompt = torch.randint(3, V - 2, (P,), generator=g).tolist()
    spans = [(3, 3 + img), (14, 14 + img)][:n_spans]
    embeds, erange = None, None
    if spans:
        emb = decoder_parts(model)[0]
        e0, e1 = spans[0][0], spans[-1][1]
        with torch.no_grad():
            rows = emb(torch.tensor(prompt[e0:e1])).clone()
            feats = build.image_rows(model, g, len(spans), img, C)
            for i, (a, b) in enumerate(spans):
                rows[a - e0:b - e0] = feats[i]
                for t in range(a, b):
                    prompt[t] = build.image_id
        embeds, erange = rows, (e0, e1 - e0)
    cont = torch.randint(3, V - 2, (T,), generator=g).tolist()
    supervised = [1, 1, 1, 1, 0, 0, 0, 1, 1, 1]
    sup = [i for i in range(T) if supervised[i]]
    sample = (prompt, spans, embeds, erange, cont, sup)
    out = {"prompt_ids": torch.tensor(prompt, dtype=torch.int32),
           "spans": torch.tensor(spans if spans else [[0, 0]][:0], dtype=torch.int32).reshape(-1, 2),
           "cont_ids": torch.tensor(cont, dtype=torch.int32),
           "supervised": torch.tensor(supervised, dtype=torch.int32),
           "sup": torch.tensor(sup, dtype=torch.int32)}
    if embeds is not None:
        out["embeds"] = embeds.to(torch.float32)
        out["embeds_range"] = torch.tensor(erange, dtype=torch.int32)
    meta_cases = {}
    for cname, kind, tau, pos_rule in cases:
        loss, kl1, t_logits, grads, Cc = run_case(model, text_cfg, params, rule, sample, kind, tau, pos_rule)
        out["teacher_logits"] = t_logits.to(torch.float32)
        out[f"{cname}.loss"] = torch.tensor([loss], dtype=torch.float32)
        out[f"{cname}.kl"] = torch.tensor([kl1], dtype=torch.float32)
        for k, v in grads.items():
            out[f"{cname}.grad.{k}"] = v.to(torch.float32)
        gmax = max(v.abs().max().item() for v in grads.values())
        gmin = min(v.abs().max().item() for v in grads.values())
        print(f"{name}/{cname}: loss {loss:.6f} KL {kl1:.4f} per token, C {Cc} of S {P - 1}, max |grad| {gmax:.3g},"
              f" smallest per-tensor max {gmin:.3g}")
        meta_cases[cname] = {"loss": kind, "tau": tau, "position_rule": pos_rule}
    meta = {"cases": json.dumps(meta_cases), "versions": json.dumps(versions())}
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(d, "case.safetensors"), metadata=meta)


def save_hf(model, d):
    model.save_pretrained(d, safe_serialization=True)
    for f in ("generation_config.json",):
        p = os.path.join(d, f)
        if os.path.exists(p):
            os.remove(p)


class Builder:
    image_id = 0

    def __init__(self, fn, image_rows=None, image_id=0):
        self.fn, self.image_id = fn, image_id
        self.image_rows = image_rows or (lambda model, g, n, img, C: [torch.randn(img, C, generator=g).to(DT)
                                                                       for _ in range(n)])

    def __call__(self, g):
        return self.fn(g)


def build_llama(g):
    cfg = LlamaConfig(vocab_size=256, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=4, head_dim=8, max_position_embeddings=256,
                      rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, attn_implementation="eager")
    return LlamaForCausalLM(cfg), cfg, save_hf


def build_qwen2(g):
    cfg = Qwen2Config(vocab_size=256, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6,
                      rope_theta=1000000.0, tie_word_embeddings=False, attn_implementation="eager")
    return Qwen2ForCausalLM(cfg), cfg, save_hf


def build_llava(g):
    text = LlamaConfig(vocab_size=256, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=256, rms_norm_eps=1e-5,
                       rope_theta=10000.0, tie_word_embeddings=False)
    vision = CLIPVisionConfig(hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
                              image_size=42, patch_size=14, projection_dim=16)
    cfg = LlavaConfig(vision_config=vision, text_config=text, image_token_index=255, projector_hidden_act="gelu",
                      vision_feature_layer=-2, vision_feature_select_strategy="default")
    cfg._attn_implementation = "eager"
    cfg.text_config._attn_implementation = "eager"
    cfg.vision_config._attn_implementation = "eager"
    return LlavaForConditionalGeneration(cfg), text, save_hf


def llava_image_rows(model, g, n, img, C):
    px = torch.randn(n, 3, 42, 42, generator=g).to(DT)
    f = model.model.get_image_features(pixel_values=px, vision_feature_layer=-2,
                                       vision_feature_select_strategy="default")
    f = torch.cat(list(f), 0) if isinstance(f, (list, tuple)) else f.reshape(-1, f.shape[-1])
    return [f[i * img:(i + 1) * img] for i in range(n)]


def build_minicpmv(g):
    cfg = Qwen2Config(vocab_size=256, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6,
                      rope_theta=1000000.0, tie_word_embeddings=False, attn_implementation="eager")

    def save(model, d):
        sd = {"llm." + k: v.detach().to(torch.float32).contiguous() for k, v in model.state_dict().items()}
        save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
        conf = {"architectures": ["MiniCPMV"], "model_type": "minicpmv", "version": 2.6, "hidden_size": 32,
                "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
                "hidden_act": "silu", "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "max_position_embeddings": 256,
                "vocab_size": 256, "tie_word_embeddings": False, "bos_token_id": 0, "eos_token_id": 1,
                "torch_dtype": "float32", "query_num": 9, "image_size": 448, "patch_size": 14,
                "drop_vision_last_layer": False, "use_image_id": True, "slice_mode": True,
                "slice_config": {"max_slice_nums": 4, "patch_size": 14, "scale_resolution": 56},
                "vision_config": {"hidden_size": 32, "image_size": 70, "intermediate_size": 64, "model_type": "siglip",
                                  "num_attention_heads": 4, "num_hidden_layers": 2, "patch_size": 14,
                                  "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6}}
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(conf, f, indent=1)

    return Qwen2ForCausalLM(cfg), cfg, save


def make_ops():
    """Per-op references: inputs (f32) and torch's gradients (float64 from those inputs) for J = sum(dy * y)."""
    g = torch.Generator().manual_seed(11)
    u = lambda *shape: (2 * torch.rand(*shape, generator=g) - 1).to(torch.float32)
    out = {}

    def grads(fn, inputs, dy):
        xs = [x.to(DT).requires_grad_(True) for x in inputs]
        y = fn(*xs)
        y.backward(dy.to(DT))
        return [x.grad.to(torch.float32) for x in xs]

    # linear (torch.nn.functional.linear: y = x w^T + b)
    x, w, b, dy = u(5, 9), u(7, 9), u(7), u(5, 7)
    dx, dw, db = grads(torch.nn.functional.linear, [x, w, b], dy)
    out.update({"linear.x": x, "linear.w": w, "linear.b": b, "linear.dy": dy, "linear.dx": dx, "linear.dw": dw,
                "linear.db": db})
    # rmsnorm (LlamaRMSNorm, eps 1e-5)
    x, w, dy = u(4, 10), u(10), u(4, 10)

    def rms(x, w):
        var = x.pow(2).mean(-1, keepdim=True)
        return w * (x * torch.rsqrt(var + 1e-5))
    dx, dw = grads(rms, [x, w], dy)
    out.update({"rmsnorm.x": x, "rmsnorm.w": w, "rmsnorm.dy": dy, "rmsnorm.dx": dx, "rmsnorm.dw": dw})
    # rope (LlamaRotaryEmbedding + apply_rotary_pos_emb), x (T, H, D), positions 0, 7, 301
    cfg = LlamaConfig(hidden_size=16, num_attention_heads=2, head_dim=8, rope_theta=10000.0)
    rot = modeling_llama.LlamaRotaryEmbedding(cfg)
    x, dy = u(3, 2, 8), u(3, 2, 8)
    pos = torch.tensor([[0, 7, 301]])

    def rope(x):
        xt = x.permute(1, 0, 2)[None]  # (1, H, T, D)
        cos, sin = rot(xt, pos)
        y, _ = modeling_llama.apply_rotary_pos_emb(xt, xt, cos, sin)
        return y[0].permute(1, 0, 2)
    (dx,) = grads(rope, [x], dy)
    out.update({"rope.x": x, "rope.pos": pos[0].to(torch.int32), "rope.dy": dy, "rope.dx": dx})
    # silu_mul
    gt, up, dy = 3 * u(24), u(24), u(24)
    dg, du = grads(lambda a, b: torch.nn.functional.silu(a) * b, [gt, up], dy)
    out.update({"silu_mul.gate": gt, "silu_mul.up": up, "silu_mul.dy": dy, "silu_mul.dgate": dg, "silu_mul.dup": du})
    # attention of T = 4 new queries over a prefix of P = 5 and their own keys, H = 4 over Hkv = 2, D = 8,
    # scale 0.5, HF's eager attention (repeat_kv, causal mask of the last T rows)
    T, P, H, Hkv, D = 4, 5, 4, 2, 8
    q, kp, vp, kn, vn, dy = u(T, H, D), u(Hkv, P, D), u(Hkv, P, D), u(T, Hkv, D), u(T, Hkv, D), u(T, H, D)

    class M:
        num_key_value_groups = H // Hkv

    def att(q, kp, vp, kn, vn):
        k = torch.cat([kp, kn.permute(1, 0, 2)], 1)[None]
        v = torch.cat([vp, vn.permute(1, 0, 2)], 1)[None]
        S = P + T
        mask = torch.full((T, S), torch.finfo(DT).min, dtype=DT)
        mask = torch.triu(mask, diagonal=P + 1)[None, None]
        o, _ = eager_attention(M, q.permute(1, 0, 2)[None], k, v, mask, 0.5)
        return o[0]
    grads_att = grads(att, [q, kp, vp, kn, vn], dy)
    for n, t in zip(["q", "kp", "vp", "kn", "vn", "dy"], [q, kp, vp, kn, vn, dy]):
        out["attention." + n] = t
    for n, t in zip(["dq", "dkp", "dvp", "dkn", "dvn"], grads_att):
        out["attention." + n] = t
    # losses on (3, 11) logits and the hidden-state term on 2 layers of (3, 6)
    zt, zs = 3 * u(3, 11), 3 * u(3, 11)
    out.update({"loss.zt": zt, "loss.zs": zs})
    for name, kind, tau in [("kl_t2", "kl", 2.0), ("fc_t1", "fastcache", 1.0), ("fc_t07", "fastcache", 0.7)]:
        zs_ = zs.to(DT).requires_grad_(True)
        loss, _ = logit_loss(kind, tau, zt.to(DT), zs_)
        loss.backward()
        out[f"loss.{name}.value"] = torch.tensor([loss.item()], dtype=torch.float32)
        out[f"loss.{name}.dzs"] = zs_.grad.to(torch.float32)
    hs, ht = u(2, 3, 6), u(2, 3, 6)
    hs_ = hs.to(DT).requires_grad_(True)
    hl = hidden_loss(list(hs_), list(ht.to(DT)))
    hl.backward()
    out.update({"hidden.hs": hs, "hidden.ht": ht, "hidden.value": torch.tensor([hl.item()], dtype=torch.float32),
                "hidden.dhs": hs_.grad.to(torch.float32)})
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(OUT, "ops.safetensors"),
              metadata={"versions": json.dumps(versions())})


CASES = [("kl_t1", "kl", 1.0, "original"), ("kl_t2", "kl", 2.0, "original"),
         ("fc_t1", "fastcache", 1.0, "original"), ("fc_t2", "fastcache", 2.0, "original")]


def main():
    os.makedirs(OUT, exist_ok=True)
    make_ops()
    if os.environ.get("GRAD_OPS_ONLY"):
        return
    make("llama", 1, Builder(build_llama), "whole", False, 0, CASES, 4.0)
    make("qwen2", 2, Builder(build_qwen2), "whole", False, 0, CASES, 4.0)
    make("llava", 3, Builder(build_llava, llava_image_rows, 255), "spans", True, 2,
         CASES + [("kl_t2_cpos", "kl", 2.0, "compressed")], 4.0)
    make("minicpmv", 4, Builder(build_minicpmv, None, 0), "whole", False, 2, CASES, 4.0)
    with open(os.path.join(OUT, "VERSIONS"), "w") as f:
        json.dump(versions(), f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
