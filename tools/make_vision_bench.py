#!/usr/bin/env python3
"""make_vision_bench.py: real-size vision encoders with random weights, and their PyTorch timing.

Used by bench/vision.sh. Writes into OUT (a temporary folder; nothing is committed):
  OUT/llava/    config.json (the real llava-1.5-7b-hf one) + model.safetensors with the CLIP ViT-L/14-336
                tower and the projector in float16, as the hub checkpoint stores them (no LLM weights)
  OUT/minicpm/  config.json (MiniCPM-V-2.6 values: reference §3.1) + model.safetensors with vpm.* (SigLIP-
                so400m NaViT, 27 layers) and resampler.* in bfloat16
and prints the PyTorch time per image with the same weights (f32 compute, then the same weights in bf16,
torch's fastest CPU path; `--threads` threads):
  torch_clip_ms=<t>     CLIPVisionModel cut to the layers LLaVA uses (23 of 24) + LlavaMultiModalProjector
  torch_minicpm_ms=<t>  Idefics2VisionTransformer with MiniCPM-V's position ids + the resampler, one HxW slice
  torch_clip_bf16_ms=<t>, torch_minicpm_bf16_ms=<t>  the same in bf16 (CLIP: the modules cast to bf16;
                        MiniCPM-V: CPU autocast to bf16, as its resampler mixes in f32 tensors)
Random weights: N(0, 0.02) matrices, LayerNorm gains near 1 (so activations stay in range), seeded.
"""
import argparse
import json
import os
import sys
import time

import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_vision_fixtures as fx  # noqa: E402  (navit_forward, Resampler, randomize)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def timed(fn, reps, warmup):
    with torch.no_grad():
        for _ in range(warmup):
            fn()
        t0 = time.perf_counter()
        for _ in range(reps):
            fn()
        return (time.perf_counter() - t0) / reps * 1e3


def make_llava(out, shared, gen, reps, warmup):
    from transformers import CLIPVisionConfig, CLIPVisionModel, LlavaConfig
    from transformers.models.llava.modeling_llava import LlavaMultiModalProjector

    with open(os.path.join(shared, "data/models/llava-1.5-7b-hf/config.json")) as f:
        config = json.load(f)
    cfg = LlavaConfig(**config)
    vcfg = CLIPVisionConfig(**config["vision_config"])
    tower = CLIPVisionModel(vcfg).eval()
    proj = LlavaMultiModalProjector(cfg).eval()
    fx.randomize(tower, gen, std=0.02)
    fx.randomize(proj, gen, std=0.02)
    sd = {f"vision_tower.{k}": v.half().contiguous() for k, v in tower.state_dict().items() if "position_ids" not in k}
    sd.update({f"multi_modal_projector.{k}": v.half().contiguous() for k, v in proj.state_dict().items()})
    d = os.path.join(out, "llava")
    os.makedirs(d, exist_ok=True)
    save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f)
    # the same rounded weights in f32; only the layers LLaVA reads (hidden_states[-2])
    tower = tower.half().float()
    proj = proj.half().float()
    n_used = vcfg.num_hidden_layers + 1 + config.get("vision_feature_layer", -2)
    tower.vision_model.encoder.layers = tower.vision_model.encoder.layers[:n_used]
    px = torch.randn((1, 3, vcfg.image_size, vcfg.image_size), generator=gen)

    def run():
        h = tower(px).last_hidden_state[:, 1:]
        return proj(h)

    t32 = timed(run, reps, warmup)
    # torch's fastest CPU path here: the same weights in bf16 (oneDNN bf16 GEMMs on AVX-512 BF16 / AMX)
    tower, proj, px = tower.bfloat16(), proj.bfloat16(), px.bfloat16()
    return t32, timed(run, reps, warmup)


def make_minicpm(out, shared, gen, reps, warmup, grid):
    from transformers.models.idefics2.configuration_idefics2 import Idefics2VisionConfig
    from transformers.models.idefics2.modeling_idefics2 import Idefics2VisionTransformer

    with open(os.path.join(shared, "data/models/minicpm-v-2_6/llm_config.json")) as f:
        config = json.load(f)
    vision = {"hidden_size": 1152, "image_size": 980, "intermediate_size": 4304, "model_type": "siglip",
              "num_attention_heads": 16, "num_hidden_layers": 27, "patch_size": 14}
    config.update({"architectures": ["MiniCPMV"], "model_type": "minicpmv", "version": 2.6, "query_num": 64,
                   "image_size": 448, "patch_size": 14, "drop_vision_last_layer": False, "use_image_id": True,
                   "slice_mode": True,
                   "slice_config": {"max_slice_nums": 9, "patch_size": 14, "scale_resolution": 448},
                   "vision_config": vision})
    vcfg = Idefics2VisionConfig(**{k: v for k, v in vision.items() if k != "model_type"},
                                hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6)
    vcfg._attn_implementation = "eager"
    vpm = Idefics2VisionTransformer(vcfg).eval()
    D = config["hidden_size"]
    res = fx.Resampler(64, D, D // 128, vcfg.hidden_size).eval()
    fx.randomize(vpm, gen, std=0.02)
    fx.randomize(res, gen, std=0.02)
    sd = {f"vpm.{k}": v.bfloat16().contiguous() for k, v in vpm.state_dict().items()}
    sd.update({f"resampler.{k}": v.bfloat16().contiguous() for k, v in res.state_dict().items()})
    d = os.path.join(out, "minicpm")
    os.makedirs(d, exist_ok=True)
    save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f)
    vpm = vpm.bfloat16().float()
    res = res.bfloat16().float()
    h, w = grid
    nps = vcfg.image_size // vcfg.patch_size
    px = torch.randn((1, 3, h * 14, w * 14), generator=gen)

    def run():
        feats = fx.navit_forward(vpm, px, h, w, nps, drop_last=False)
        return res(feats, h, w)

    t32 = timed(run, reps, warmup)
    # the reference's resampler mixes in f32 tensors of its own (positional embeddings), so the modules cannot
    # simply be cast: bf16 is torch's CPU autocast (matmuls and linears in bf16, the rest as autocast keeps it)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        t16 = timed(run, reps, warmup)
    return t32, t16


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--shared", default=os.environ.get("SHARED", os.path.join(ROOT, "..", "shared")))
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--grid", default="32x32")
    ap.add_argument("--only", choices=["llava", "minicpm"], default=None)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(7)
    grid = tuple(int(x) for x in a.grid.split("x"))
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads", file=sys.stderr)
    if a.only in (None, "llava"):
        t32, t16 = make_llava(a.out, a.shared, gen, a.reps, a.warmup)
        print(f"torch_clip_ms={t32:.3f}\ntorch_clip_bf16_ms={t16:.3f}", flush=True)
    if a.only in (None, "minicpm"):
        t32, t16 = make_minicpm(a.out, a.shared, gen, a.reps, a.warmup, grid)
        print(f"torch_minicpm_ms={t32:.3f}\ntorch_minicpm_bf16_ms={t16:.3f}", flush=True)


if __name__ == "__main__":
    main()
