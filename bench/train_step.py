#!/usr/bin/env python3
"""train_step.py: the PyTorch + transformers side of bench/train_step.sh: the same fc-train optimizer step as
bench/train_step.c, written as a torch user would (and as FastCache's training does it, minus its bugs):
frozen decoder (requires_grad off, eval mode, f32), teacher prefill of prompt[:-1] with the full cache and a
teacher-forced pass of the answer inputs over it (no grad); FastCache's WindowMLP compressors (Linear(5D->D)
ReLU Linear(D->D) ReLU Linear(D->D) per layer x {ik, iv, tk, tv}, torch default init) on every layer's prefix
K/V by the "prefix" segment rule (image segment [0, img_end), text segment after; raw remainders, segments
under 2 windows raw); student pass of the answer inputs over the compressed cache (original positions, causal
among themselves); KL(teacher || student) mean over tokens; backward; Adam (lr 5e-4).
The teacher's prefill asks for the logits of its last row only (logits_to_keep=1), as ours does: the
prefix's logits are not used, and over Qwen2's 151,666-word vocabulary they would be most of the work.

--mode picks the precision, each as fast as a torch user would make it:
  f32       the model upcast to f32 (torch's exact path; the side ours --precision f32 matches)
  autocast  the model in f32, every forward under torch.autocast("cpu", bfloat16) (the frozen f32 weights
            are cast to bf16 at every call: autocast caches casts of trainable leaves only)
  bf16      the checkpoint loaded in bf16 (native; an f16 one cast once at load), the compressor's f32
            weights under autocast: torch's fastest CPU configuration for this step

  train_step.py MODEL_DIR P T IMG_START IMG_LEN REPS --threads N [--mode f32|autocast|bf16]
prints: step_s=<best of REPS after a warm-up> teacher_s= student_s= adam_s= loss= peak_rss_mb= mode=
"""
import contextlib
import argparse
import resource
import time

import torch
import torch.nn.functional as F
import transformers
from transformers import DynamicCache


def window_mlp(cf, D):
    return torch.nn.Sequential(torch.nn.Linear(cf * D, D), torch.nn.ReLU(), torch.nn.Linear(D, D), torch.nn.ReLU(),
                               torch.nn.Linear(D, D))


def compress_segment(x, mlp, cf=5, min_windows=2):
    # x: [1, H, S, D]
    S = x.shape[2]
    n = S // cf
    if n < min_windows:
        return x
    c = n * cf
    y = mlp(x[:, :, :c].reshape(x.shape[0], x.shape[1], n, cf * x.shape[3]))
    return torch.cat([y, x[:, :, c:]], dim=2) if S > c else y


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    for k in ("P", "T", "img_start", "img_len", "reps"):
        ap.add_argument(k, type=int)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--mode", choices=["f32", "autocast", "bf16"], default="f32")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(48)
    kw = {"attn_implementation": "eager"}
    kw["dtype" if transformers.__version__ >= "4.56" else "torch_dtype"] = torch.bfloat16 if a.mode == "bf16" else torch.float32
    amp = (lambda: torch.autocast("cpu", dtype=torch.bfloat16)) if a.mode != "f32" else contextlib.nullcontext
    model = transformers.AutoModelForCausalLM.from_pretrained(a.model, **kw).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    cfg = model.config
    L, Hkv = cfg.num_hidden_layers, cfg.num_key_value_heads
    D = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    image = a.img_len > 0
    kinds = ["ik", "iv", "tk", "tv"] if image else ["tk", "tv"]
    ccm = torch.nn.ModuleDict({k: torch.nn.ModuleList([window_mlp(5, D) for _ in range(L)]) for k in kinds})
    opt = torch.optim.Adam(ccm.parameters(), lr=5e-4)
    g = torch.Generator().manual_seed(7)
    V = cfg.vocab_size
    prompt = torch.randint(3, V, (1, a.P), generator=g)
    cont = torch.randint(3, V, (1, a.T), generator=g)
    S, T = a.P - 1, a.T
    img_end = a.img_start + a.img_len
    inputs = torch.cat([prompt[:, -1:], cont[:, :-1]], dim=1)
    best, loss0 = None, None
    for rep in range(a.reps + 1):
        t0 = time.perf_counter()
        with torch.no_grad(), amp():
            cache = DynamicCache()
            model(input_ids=prompt[:, :-1], past_key_values=cache, use_cache=True, logits_to_keep=1)
            kv = [(cache.layers[l].keys.clone(), cache.layers[l].values.clone()) for l in range(L)]
            tl = model(input_ids=inputs, past_key_values=cache, use_cache=True).logits.float()
        t1 = time.perf_counter()
        ctx = amp()
        ctx.__enter__()
        comp = DynamicCache()
        for l, (k, v) in enumerate(kv):
            if image:
                ck = torch.cat([compress_segment(k[:, :, :img_end], ccm["ik"][l]),
                                compress_segment(k[:, :, img_end:], ccm["tk"][l])], dim=2)
                cv = torch.cat([compress_segment(v[:, :, :img_end], ccm["iv"][l]),
                                compress_segment(v[:, :, img_end:], ccm["tv"][l])], dim=2)
            else:
                ck, cv = compress_segment(k, ccm["tk"][l]), compress_segment(v, ccm["tv"][l])
            comp.update(ck, cv, l)
        C = comp.get_seq_length()
        out = model(input_ids=inputs, past_key_values=comp, use_cache=True,
                    position_ids=torch.arange(S, S + T).unsqueeze(0), cache_position=torch.arange(C, C + T))
        ctx.__exit__(None, None, None)
        loss = F.kl_div(F.log_softmax(out.logits[0].float(), -1), F.log_softmax(tl[0], -1), log_target=True,
                        reduction="batchmean")
        opt.zero_grad(set_to_none=False)
        loss.backward()
        t2 = time.perf_counter()
        opt.step()
        t3 = time.perf_counter()
        if rep == 0:
            loss0 = loss.item()
        elif best is None or t3 - t0 < best[0]:
            best = (t3 - t0, t1 - t0, t2 - t1, t3 - t2)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"step_s={best[0]:.4f} teacher_s={best[1]:.4f} student_s={best[2]:.4f} adam_s={best[3]:.5f} "
          f"loss={loss0:.6g} peak_rss_mb={peak:.1f} mode={a.mode}")


if __name__ == "__main__":
    main()
