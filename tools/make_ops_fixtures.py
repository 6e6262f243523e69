#!/usr/bin/env python3
"""make_ops_fixtures.py: reference outputs for the CPU ops of kernels/ops.h, computed by the torch /
transformers modules each op reproduces, written to tests/fixtures/ops/ops.safetensors.

Every case is a group of tensors named "<case>.<field>": inputs, parameters in their checkpoint dtype (the C
op converts them itself), scalar settings as 1-element tensors, and "<case>.want" (f32), the module's
output. Inputs are random normal (seeded), shapes deliberately odd (C = 24 or 40, 7 query heads per kv head,
D = 24 and 128, T = 1, 5 and 37) so vector tails, GQA mapping and both linear paths are exercised.
Parameters in f16/bf16 are rounded first and the module computes with their exact f32 value (x @ w.float().T),
which is what the C op does, so only f32 summation order separates the two.

Run: $PYTHON tools/make_ops_fixtures.py   (deterministic; library versions go into __metadata__)
"""
import os
import sys
import types

import safetensors
import torch
import transformers
from safetensors.torch import save_file
from transformers.activations import ACT2FN
from transformers.models.llama.configuration_llama import LlamaConfig
from transformers.models.llama.modeling_llama import (LlamaRMSNorm, LlamaRotaryEmbedding, apply_rotary_pos_emb,
                                                      eager_attention_forward)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "ops", "ops.safetensors")
DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}

torch.manual_seed(1234)
torch.set_num_threads(1)
tensors = {}


def put(name, t):
    assert name not in tensors, name
    tensors[name] = t.detach().contiguous().clone()


def scalar(name, v, dtype=torch.float32):
    put(name, torch.tensor([v], dtype=dtype))


def param(shape, dt, scale=1.0):
    """A parameter stored in dtype dt, plus its exact f32 value."""
    p = (torch.randn(*shape) * scale).to(DTYPES[dt])
    return p, p.float()


# ---- linear: nn.Linear with the weight's exact f32 value ----
for dt in DTYPES:
    for T in (1, 5, 37):
        for K, N, bias in ((40, 29, True), (24, 19, False)):
            case = f"linear.{dt}.T{T}.K{K}"
            x = torch.randn(T, K)
            w, wf = param((N, K), dt, 0.2)
            lin = torch.nn.Linear(K, N, bias=bias)
            with torch.no_grad():
                lin.weight.copy_(wf)
                if bias:
                    b, bf = param((N,), dt)
                    lin.bias.copy_(bf)
                    put(case + ".b", b)
                put(case + ".want", lin(x))
            put(case + ".x", x)
            put(case + ".w", w)

# ---- rmsnorm: LlamaRMSNorm (the same module as Qwen2RMSNorm) ----
for dt in DTYPES:
    for T, C, eps in ((1, 24, 1e-5), (37, 40, 1e-6)):
        case = f"rmsnorm.{dt}.T{T}"
        x = torch.randn(T, C) * 3
        w, wf = param((C,), dt)
        m = LlamaRMSNorm(C, eps=eps)
        with torch.no_grad():
            m.weight.copy_(wf)
            put(case + ".want", m(x))
        put(case + ".x", x)
        put(case + ".w", w)
        scalar(case + ".eps", eps)

# ---- layernorm: nn.LayerNorm; one case with a large mean to catch cancellation ----
for dt in DTYPES:
    for T, C, eps, offset in ((1, 24, 1e-5, 0.0), (37, 72, 1e-6, 0.0), (5, 40, 1e-5, 50.0)):
        case = f"layernorm.{dt}.T{T}"
        x = torch.randn(T, C) + offset
        w, wf = param((C,), dt)
        b, bf = param((C,), dt)
        m = torch.nn.LayerNorm(C, eps=eps)
        with torch.no_grad():
            m.weight.copy_(wf)
            m.bias.copy_(bf)
            put(case + ".want", m(x))
        put(case + ".x", x)
        put(case + ".w", w)
        put(case + ".b", b)
        scalar(case + ".eps", eps)

# ---- activations under their HF names (order = fc_act) ----
ACTS = ["silu", "gelu", "gelu_pytorch_tanh", "quick_gelu", "relu"]
xa = torch.cat([torch.randn(37 * 24 - 6) * 4, torch.tensor([0.0, -0.0, 30.0, -30.0, 90.0, -90.0])]).reshape(37, 24)
put("act.x", xa)
for i, a in enumerate(ACTS):
    put(f"act.{a}.want", ACT2FN[a](xa))

# ---- silu_mul (LlamaMLP's act_fn(gate) * up) and add ----
g, u = torch.randn(37, 40) * 3, torch.randn(37, 40)
put("silu_mul.gate", g)
put("silu_mul.up", u)
put("silu_mul.want", ACT2FN["silu"](g) * u)
a, b = torch.randn(5, 24), torch.randn(5, 24)
put("add.a", a)
put("add.b", b)
put("add.want", a + b)

# ---- embedding: nn.Embedding on the table's f32 value ----
for dt in DTYPES:
    case = f"embedding.{dt}"
    tab, tabf = param((50, 24), dt)
    ids = torch.randint(0, 50, (37,), dtype=torch.int32)
    ids[0], ids[1] = 0, 49
    put(case + ".table", tab)
    put(case + ".ids", ids)
    put(case + ".want", torch.nn.functional.embedding(ids.long(), tabf))

# ---- rope: LlamaRotaryEmbedding + apply_rotary_pos_emb, q laid out (T, heads, D) ----
for D, nh, theta, start in ((24, 3, 10000.0, 0), (128, 2, 10000.0, 450), (128, 3, 1000000.0, 880)):
    case = f"rope.D{D}.p{start}"
    T = 37
    cfg = LlamaConfig(hidden_size=D * nh, num_attention_heads=nh, head_dim=D, rope_theta=theta,
                      max_position_embeddings=4096)
    rot = LlamaRotaryEmbedding(cfg)
    pos = torch.arange(start, start + T, dtype=torch.int32)
    pos[3], pos[10] = start + 100, 0  # positions need not be consecutive (compressed caches)
    x = torch.randn(T, nh, D)
    q = x.permute(1, 0, 2)[None]  # (1, nh, T, D), the HF layout
    cos, sin = rot(q, pos.long()[None])
    qe, _ = apply_rotary_pos_emb(q, q, cos, sin)
    put(case + ".x", x)
    put(case + ".pos", pos)
    scalar(case + ".theta", theta)
    put(case + ".want", qe[0].permute(1, 0, 2))

# ---- attention: HF eager_attention_forward with repeat_kv and an additive causal mask ----
for H, Hkv, D, T, S, causal, scale in ((14, 2, 24, 37, 37, 1, 24 ** -0.5), (7, 1, 128, 1, 37, 1, 128 ** -0.5),
                                       (4, 4, 24, 5, 37, 0, 0.3), (7, 1, 128, 37, 37, 0, 128 ** -0.5),
                                       (14, 2, 24, 5, 37, 1, 24 ** -0.5),
                                       # T * S >= 4096: the C op's sgemm path (vision-tower sizes)
                                       (14, 2, 24, 70, 70, 1, 24 ** -0.5), (4, 2, 72, 64, 80, 0, 72 ** -0.5)):
    case = f"attention.H{H}.Hkv{Hkv}.D{D}.T{T}.S{S}.c{causal}"
    q = torch.randn(T, H, D)
    k = torch.randn(S, Hkv, D)
    v = torch.randn(S, Hkv, D)
    mask = None
    if causal:  # query t is the key position t + S - T: it sees keys 0 .. t + S - T
        allowed = torch.arange(S)[None, :] <= (torch.arange(T)[:, None] + S - T)
        mask = torch.zeros(T, S).masked_fill(~allowed, torch.finfo(torch.float32).min)[None, None]
    mod = types.SimpleNamespace(num_key_value_groups=H // Hkv, training=False)
    out, _ = eager_attention_forward(mod, q.permute(1, 0, 2)[None], k.permute(1, 0, 2)[None],
                                     v.permute(1, 0, 2)[None], mask, scaling=scale, dropout=0.0)
    put(case + ".q", q)
    put(case + ".k", k)
    put(case + ".v", v)
    scalar(case + ".scale", scale)
    put(case + ".want", out[0].reshape(T, H * D))

# one metadata key: the Rust writer orders several keys at random, and the file should be byte-identical
# from run to run
meta = {"made_by": f"tools/make_ops_fixtures.py seed=1234 torch={torch.__version__} "
                   f"transformers={transformers.__version__} safetensors={safetensors.__version__} "
                   f"python={sys.version.split()[0]}"}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
save_file(tensors, OUT, metadata=meta)
print(f"wrote {len(tensors)} tensors to {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)")
