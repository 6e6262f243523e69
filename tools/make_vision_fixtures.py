#!/usr/bin/env python3
"""make_vision_fixtures.py: golden fixtures for the vision towers (tests/unit/test_vision.c).

Writes tests/fixtures/vision/:
  llava-tiny/          a tiny LlavaForConditionalGeneration saved with save_pretrained (config.json +
                       model.safetensors, f16 like the hub model): CLIP tower + projector (+ a tiny Llama)
  llava-cases.safetensors   pixels_<i> [3,S,S], tower_<i> [n,Cv] (layer -2, CLS dropped), feat_<i> [n,Ct],
                       tower_full_<i> [n+1,Cv] (layer -2 with CLS), tower_last_<i> [n,Cv] (layer -1)
  minicpm-tiny/        config.json (model_type minicpmv) + model.safetensors holding vpm.* (SigLIP NaViT,
                       built as transformers' Idefics2VisionTransformer, whose parameter names equal vpm.*)
                       and resampler.* (MiniCPM-V-2.6 resampler in plain torch, nn.MultiheadAttention), bf16
  minicpm-cases.safetensors pixels_<i> [3,H,W], grid_<i> [2] (h,w), vpm_<i> [h*w,Cv], vpm_drop_<i> (last
                       layer dropped), res_<i> [Q,Ct]
  buckets.safetensors  bucket_<nps> [128,128] i32: row n-1 holds the MiniCPM-V-2.6 position buckets of a
                       side of n patches (entries >= n are -1), for nps in NPS_LIST
Every file records the library versions in its __metadata__. Deterministic (seeded), CPU. References are
computed in f32 from the f16/bf16-rounded weights, so the C side (which widens them exactly) must match to
f32 rounding.

MiniCPM-V-2.6's remote code (modeling_navit_siglip.py) computes the position buckets as
    boundaries = torch.arange(1/nps, 1.0, 1/nps)
    frac       = torch.arange(0, 1 - 1e-6, 1 / nb_patches)     # nb_patches: an int tensor, so 1/n is float32
    bucket     = torch.bucketize(frac, boundaries, right=True)
transformers >= 4.5x's Idefics2VisionEmbeddings computes `arange(n) / n * (1 - 1e-6)` instead, which gives
different buckets (e.g. n = 2 with nps = 70). The model we match is MiniCPM-V-2.6, so the Idefics2 embeddings'
forward is replaced here by the remote-code formula (minicpm_buckets below).
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
from torch import nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "vision")
NPS_LIST = [70, 5, 4, 7]


def versions():
    return {
        "generator": "tools/make_vision_fixtures.py",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "numpy": np.__version__,
        "safetensors": safetensors.__version__,
    }


def minicpm_buckets(n, nps):
    """Position buckets of a side of n patches, exactly as MiniCPM-V-2.6's SiglipVisionEmbeddings."""
    boundaries = torch.arange(1 / nps, 1.0, 1 / nps)
    nb = torch.tensor(n, dtype=torch.int32)  # tgt_sizes is an int32 tensor in MiniCPM-V
    frac = torch.arange(0, 1 - 1e-6, 1 / nb)
    return torch.bucketize(frac, boundaries, right=True)


def randomize(module, gen, std=0.2):
    """Random weights with enough spread that a wrong index or transpose shows; LayerNorm gains near 1."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "norm" in name or name.startswith("ln_"):
                if name.endswith("weight"):
                    p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=gen))
                else:
                    p.copy_(0.1 * torch.randn(p.shape, generator=gen))
            else:
                p.copy_(std * torch.randn(p.shape, generator=gen))


# ---------------------------------------------------------------- LLaVA (CLIP + projector)
def make_llava(gen):
    from transformers import CLIPVisionConfig, LlamaConfig, LlavaConfig, LlavaForConditionalGeneration

    cfg = LlavaConfig(
        vision_config=CLIPVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3,
                                       num_attention_heads=4, image_size=42, patch_size=14),
        text_config=LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                num_attention_heads=4, num_key_value_heads=4, vocab_size=128),
        image_token_index=127, projector_hidden_act="gelu",
        vision_feature_layer=-2, vision_feature_select_strategy="default")
    model = LlavaForConditionalGeneration(cfg).eval()
    randomize(model, gen)
    # stored in float16 like llava-1.5-7b-hf; the reference computes in f32 from the same rounded weights
    out_dir = os.path.join(OUT, "llava-tiny")
    model = model.half()
    model.save_pretrained(out_dir, safe_serialization=True)
    model = model.float()

    tensors = {}
    side = cfg.vision_config.image_size
    for i in range(3):
        px = torch.randn((1, 3, side, side), generator=gen)
        with torch.no_grad():
            vt = model.vision_tower(px, output_hidden_states=True)
            tower = vt.hidden_states[cfg.vision_feature_layer][:, 1:]
            feat = model.get_image_features(px, vision_feature_layer=-2, vision_feature_select_strategy="default")
            if isinstance(feat, (list, tuple)):
                feat = feat[0]
            feat = feat.reshape(-1, cfg.text_config.hidden_size)
            manual = model.multi_modal_projector(tower)[0]
            assert torch.allclose(manual, feat, atol=1e-6), "projector path disagrees with get_image_features"
        tensors[f"pixels_{i}"] = px[0].contiguous()
        tensors[f"tower_{i}"] = tower[0].contiguous()
        tensors[f"feat_{i}"] = feat.contiguous()
        # other selections of the same run: "full" strategy (CLS kept) and vision_feature_layer -1
        tensors[f"tower_full_{i}"] = vt.hidden_states[-2][0].clone()
        tensors[f"tower_last_{i}"] = vt.hidden_states[-1][0, 1:].clone()
    meta = versions()
    meta["cases"] = "3"
    save_file(tensors, os.path.join(OUT, "llava-cases.safetensors"), metadata=meta)
    with open(os.path.join(out_dir, "VERSIONS"), "w") as f:
        json.dump(versions(), f, indent=1)


# ---------------------------------------------------------------- MiniCPM-V (SigLIP NaViT + resampler)
def sincos_1d(embed_dim, pos):
    omega = np.arange(embed_dim // 2, dtype=np.float32)
    omega /= embed_dim / 2.0
    omega = 1.0 / 10000 ** omega
    out = np.einsum("hw,d->hwd", pos, omega)
    return np.concatenate([np.sin(out), np.cos(out)], axis=-1)


def sincos_2d(embed_dim, h, w):
    """get_2d_sincos_pos_embed of MiniCPM-V-2.6's resampler.py, for a (h, w) grid: (h, w, D)."""
    grid_h = np.arange(h, dtype=np.float32)
    grid_w = np.arange(w, dtype=np.float32)
    grid = np.stack(np.meshgrid(grid_w, grid_h), axis=0)  # w goes first
    emb_h = sincos_1d(embed_dim // 2, grid[0])
    emb_w = sincos_1d(embed_dim // 2, grid[1])
    return np.concatenate([emb_h, emb_w], axis=-1)


class Resampler(nn.Module):
    """MiniCPM-V-2.6 resampler.py forward for one image (no padding, so no key mask is needed)."""

    def __init__(self, num_queries, embed_dim, num_heads, kv_dim):
        super().__init__()
        self.embed_dim = embed_dim
        self.query = nn.Parameter(torch.zeros(num_queries, embed_dim))
        self.kv_proj = nn.Linear(kv_dim, embed_dim, bias=False)
        self.attn = nn.MultiheadAttention(embed_dim, num_heads)
        self.ln_q = nn.LayerNorm(embed_dim, eps=1e-6)
        self.ln_kv = nn.LayerNorm(embed_dim, eps=1e-6)
        self.ln_post = nn.LayerNorm(embed_dim, eps=1e-6)
        self.proj = nn.Parameter((embed_dim ** -0.5) * torch.randn(embed_dim, embed_dim))

    def forward(self, x, h, w):  # x: (n, kv_dim)
        pos = torch.from_numpy(sincos_2d(self.embed_dim, h, w)).float().reshape(h * w, -1)
        x = self.ln_kv(self.kv_proj(x)).unsqueeze(1)  # L * B * D
        q = self.ln_q(self.query).unsqueeze(1)          # Q * B * D
        out = self.attn(q, x + pos.unsqueeze(1), x)[0]
        x = self.ln_post(out[:, 0])
        return x @ self.proj


def navit_forward(vpm, px, h, w, nps, drop_last):
    """Idefics2VisionTransformer with MiniCPM-V-2.6's position ids: (h*w, C)."""
    emb = vpm.embeddings
    x = emb.patch_embedding(px).flatten(2).transpose(1, 2)  # (1, n, C)
    bh = minicpm_buckets(h, nps)
    bw = minicpm_buckets(w, nps)
    pos_ids = (bh[:, None] * nps + bw).flatten()
    x = x + emb.position_embedding(pos_ids)[None]
    layers = vpm.encoder.layers[:-1] if drop_last else vpm.encoder.layers
    for layer in layers:
        out = layer(x, attention_mask=None)
        x = out[0] if isinstance(out, tuple) else out
    return vpm.post_layernorm(x)[0]


def make_minicpm(gen):
    from transformers import Idefics2Config
    from transformers.models.idefics2.configuration_idefics2 import Idefics2VisionConfig
    from transformers.models.idefics2.modeling_idefics2 import Idefics2VisionTransformer

    patch, nps = 14, 5
    vcfg = Idefics2VisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=3, num_attention_heads=4,
                                image_size=patch * nps, patch_size=patch, hidden_act="gelu_pytorch_tanh",
                                layer_norm_eps=1e-6)
    vcfg._attn_implementation = "eager"
    del Idefics2Config
    vpm = Idefics2VisionTransformer(vcfg).eval()
    randomize(vpm, gen)
    embed_dim, query_num = 256, 8  # MiniCPM-V: heads = embed_dim // 128
    res = Resampler(query_num, embed_dim, embed_dim // 128, vcfg.hidden_size).eval()
    randomize(res, gen)
    with torch.no_grad():
        res.proj.copy_((embed_dim ** -0.5) * torch.randn(embed_dim, embed_dim, generator=gen))

    # stored in bfloat16 like MiniCPM-V-2.6; the reference computes in f32 from the same rounded weights
    with torch.no_grad():
        for p in list(vpm.parameters()) + list(res.parameters()):
            p.copy_(p.bfloat16().float())
    out_dir = os.path.join(OUT, "minicpm-tiny")
    os.makedirs(out_dir, exist_ok=True)
    sd = {f"vpm.{k}": v.bfloat16().contiguous() for k, v in vpm.state_dict().items()}
    sd.update({f"resampler.{k}": v.bfloat16().contiguous() for k, v in res.state_dict().items()})
    save_file(sd, os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt", **versions()})
    config = {
        "architectures": ["MiniCPMV"], "model_type": "minicpmv", "version": 2.6,
        "hidden_size": embed_dim, "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 2,
        "num_key_value_heads": 1, "hidden_act": "silu", "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
        "max_position_embeddings": 512, "vocab_size": 256, "tie_word_embeddings": False,
        "bos_token_id": 0, "eos_token_id": 1, "torch_dtype": "bfloat16",
        "query_num": query_num, "image_size": 448, "patch_size": patch, "drop_vision_last_layer": False,
        "use_image_id": True, "slice_mode": True,
        "slice_config": {"max_slice_nums": 9, "patch_size": patch, "scale_resolution": 448},
        "vision_config": {"hidden_size": vcfg.hidden_size, "image_size": vcfg.image_size,
                          "intermediate_size": vcfg.intermediate_size, "model_type": "siglip",
                          "num_attention_heads": vcfg.num_attention_heads,
                          "num_hidden_layers": vcfg.num_hidden_layers, "patch_size": patch,
                          "hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-6},
    }
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=1)
    with open(os.path.join(out_dir, "VERSIONS"), "w") as f:
        json.dump(versions(), f, indent=1)

    # (h, w) patch grids: square, non-square both ways, 1-wide, and n = 25 where the float32 buckets of a
    # 5-per-side table differ from floor(nps*i/n).
    grids = [(2, 3), (3, 2), (5, 5), (1, 4), (25, 2), (6, 4)]
    tensors = {}
    for i, (h, w) in enumerate(grids):
        px = torch.randn((1, 3, h * patch, w * patch), generator=gen)
        with torch.no_grad():
            feats = navit_forward(vpm, px, h, w, nps, drop_last=False)
            feats_drop = navit_forward(vpm, px, h, w, nps, drop_last=True)
            out = res(feats, h, w)
        tensors[f"pixels_{i}"] = px[0].contiguous()
        tensors[f"grid_{i}"] = torch.tensor([h, w], dtype=torch.int32)
        tensors[f"vpm_{i}"] = feats.contiguous()
        tensors[f"vpm_drop_{i}"] = feats_drop.contiguous()
        tensors[f"res_{i}"] = out.contiguous()
    meta = versions()
    meta["cases"] = str(len(grids))
    save_file(tensors, os.path.join(OUT, "minicpm-cases.safetensors"), metadata=meta)


def make_buckets():
    tensors = {}
    for nps in NPS_LIST:
        table = torch.full((128, 128), -1, dtype=torch.int32)
        for n in range(1, 129):
            table[n - 1, :n] = minicpm_buckets(n, nps).to(torch.int32)
        tensors[f"bucket_{nps}"] = table
    meta = versions()
    meta["formula"] = "bucketize(arange(0, 1-1e-6, 1/int32(n)), arange(1/nps, 1, 1/nps), right=True)"
    meta["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    save_file(tensors, os.path.join(OUT, "buckets.safetensors"), metadata=meta)


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(1234)
    make_buckets()
    make_llava(gen)
    make_minicpm(gen)
    print(f"wrote {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
