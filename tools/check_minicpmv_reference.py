#!/usr/bin/env python3
"""check_minicpmv_reference.py: checks our MiniCPM-V-2.6 references against the public remote code.

Usage (by hand; not part of `make fixtures`, since the remote code is not on PyPI and is not in this repo):
    /work/venv/bin/python tools/check_minicpmv_reference.py /tmp/minicpmv-ref

where /tmp/minicpmv-ref holds the remote code files of openbmb/MiniCPM-V-2_6 (the `trust_remote_code` files
published with the model): image_processing_minicpmv.py, processing_minicpmv.py, tokenization_minicpmv_fast.py,
modeling_navit_siglip.py, resampler.py, modeling_minicpmv.py, configuration_minicpm.py. One public copy is
the first commit of github.com/404805854/minicpmv2.6-onnx ("fork from hugging face original code"):
    git clone https://github.com/404805854/minicpmv2.6-onnx && cd minicpmv2.6-onnx
    mkdir -p /tmp/minicpmv-ref && git archive 8490e5923eeebae2ef7163fc7bb39f5b66967272 | tar -x -C /tmp/minicpmv-ref
(its later commits strip branches out of the modeling code: do not use them). Never copy these files into
this repository. The code targets transformers 4.40; under 4.57 two things are patched IN MEMORY when loading
(the files on disk stay untouched):
  - resampler.py used `List` from `from torch.nn.functional import *`, which newer torch no longer exports:
    `from typing import List` is prepended;
  - modeling_minicpmv.py imports torchvision (only for its chat-time image transform, unused here): a stub
    module is registered.
The files are imported as a package (they use relative imports).

What is compared (each item prints PASS/FAIL and its figures; the exit status is 1 if any item fails):
 1. image: MiniCPMVImageProcessor (max_slice_nums 9, scale_resolution 448, patch 14, as openbmb/MiniCPM-V-2_6's
    preprocessor_config.json) on every image of tests/fixtures/image/cases.json (66 GQA + edge images) vs the
    fixture's grid, piece sizes and piece CRC-32s (uint8, exact), its full preprocess() output (normalised,
    patch-reshaped) vs minicpmv_lut of norm.safetensors applied to our pieces (exact), tgt_sizes, and
    grid_sweep.json's grid / overview / refine sizes vs get_sliced_grid / find_best_resize / get_refine_size.
    Both sides run under the installed Pillow (the fixtures record theirs in cases.json).
 2. vision tower: the remote SiglipVisionTransformer, fed exactly as MiniCPMV.get_vllm_embedding feeds it
    (reshape_by_patch layout [3, 14, L*14], zero padding, patch_attention_mask, int32 tgt_sizes, all slices in
    one batch), loaded with the weights of tests/fixtures/vision/minicpm-tiny, vs the stored vpm_<i> /
    vpm_drop_<i> of minicpm-cases.safetensors (Idefics2VisionTransformer with the MiniCPM buckets, made by
    tools/make_vision_fixtures.py), and vs that script's navit_forward on more grids (n = 25, 55, ...), also on
    a second random tower with 70 buckets per side (the real model's 980/14); plus the remote embedding's
    position ids for every side n = 1..128 vs buckets.safetensors.
 3. resampler: the remote Resampler (same weights) vs the stored res_<i> and vs the plain-torch Resampler of
    make_vision_fixtures.py on more grids (incl. one beyond the 70x70 position cache).
 4. prompt: MiniCPMVProcessor with the remote MiniCPMVTokenizerFast (from ../shared/data/models/minicpm-v-2_6)
    on each MiniCPM-V case of tests/fixtures/tokenizer/chat.json (which test_tokenizer.c holds
    fc_chat_minicpmv_prompt to), with images whose size gives the case's grid: rendered text, input ids and
    image_bound.
"""
import importlib
import importlib.util
import json
import os
import sys
import types
import zlib

import numpy as np
import PIL
import torch
import transformers
from PIL import Image
from safetensors.numpy import load_file as load_np
from safetensors.torch import load_file as load_pt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("SHARED", os.path.join(ROOT, "..", "shared"))
IMG_FIX = os.path.join(ROOT, "tests", "fixtures", "image")
VIS_FIX = os.path.join(ROOT, "tests", "fixtures", "vision")
TOK_FIX = os.path.join(ROOT, "tests", "fixtures", "tokenizer")
GQA = os.path.join(SHARED, "data", "gqa-demo", "gqa")
MINICPM_DIR = os.path.join(SHARED, "data", "models", "minicpm-v-2_6")
PKG = "minicpmv_remote"

results = []


def report(item, ok, text):
    results.append((item, ok))
    print(f"[{'PASS' if ok else 'FAIL'}] {item}: {text}", flush=True)


def crc(a):
    return zlib.crc32(np.ascontiguousarray(a, dtype=np.uint8).tobytes()) & 0xFFFFFFFF


# ---------------------------------------------------------------- loading the remote code
def load_remote(path):
    """Imports the remote files as package PKG, with the in-memory patches listed in the docstring."""
    sys.modules.setdefault("torchvision", types.ModuleType("torchvision"))
    pkg = types.ModuleType(PKG)
    pkg.__path__ = [path]
    sys.modules[PKG] = pkg
    patches = {"resampler": ("", "from typing import List\n")}

    def load(name):
        full = f"{PKG}.{name}"
        if full in sys.modules:
            return sys.modules[full]
        file = os.path.join(path, name + ".py")
        src = open(file, encoding="utf-8").read()
        if name in patches:
            old, new = patches[name]
            src = new + src if old == "" else src.replace(old, new)
        mod = types.ModuleType(full)
        mod.__file__ = file
        mod.__package__ = PKG
        sys.modules[full] = mod
        exec(compile(src, file, "exec"), mod.__dict__)
        return mod

    for name in ("modeling_navit_siglip", "resampler", "configuration_minicpm", "image_processing_minicpmv",
                 "processing_minicpmv", "tokenization_minicpmv_fast", "modeling_minicpmv"):
        load(name)
    return {n.split(".")[-1]: m for n, m in sys.modules.items() if n.startswith(PKG + ".")}


def load_ours(name, file):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "tools", file))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def image_processor(R):
    # openbmb/MiniCPM-V-2_6 preprocessor_config.json
    return R["image_processing_minicpmv"].MiniCPMVImageProcessor(
        max_slice_nums=9, scale_resolution=448, patch_size=14, use_image_id=True, image_feature_size=64,
        im_start="<image>", im_end="</image>", slice_start="<slice>", slice_end="</slice>", unk="<unk>",
        im_id_start="<image_id>", im_id_end="</image_id>", slice_mode=True, norm_mean=[0.5, 0.5, 0.5],
        norm_std=[0.5, 0.5, 0.5], version=2.6)


def unpatch(x, h, w, p=14):
    """Inverse of MiniCPMVImageProcessor.reshape_by_patch: [3, p, h*w*p] -> [3, h*p, w*p]."""
    x = np.asarray(x).reshape(3, p, h * w, p)          # c, row-in-patch, patch, col-in-patch
    x = x.reshape(3, p, h, w, p).transpose(0, 2, 1, 3, 4)
    return x.reshape(3, h * p, w * p)


# ---------------------------------------------------------------- 1. image slicing
def check_image(R):
    ip = image_processor(R)
    cases = json.load(open(os.path.join(IMG_FIX, "cases.json")))
    lut = load_np(os.path.join(IMG_FIX, "norm.safetensors"))["minicpmv_lut"]
    bad, npieces, nexact, raised = [], 0, 0, []
    for c in cases["cases"]:
        where, name = c["name"].split(":", 1)
        path = os.path.join(GQA if where == "gqa" else os.path.join(IMG_FIX, "edge"), name)
        im = Image.open(path).convert("RGB")
        ref = c["minicpmv"]
        grid = ip.get_sliced_grid(im.size, 9)
        pieces = ip.get_sliced_images(im, 9)
        got = [[p.size[0], p.size[1], crc(np.array(p))] for p in pieces]
        if (grid or [0, 0]) != ref["grid"] or got != ref["pieces"]:
            bad.append(f"{c['name']}: grid {grid} pieces {got[:2]}.. want {ref['grid']} {ref['pieces'][:2]}..")
            continue
        npieces += len(got)
        # the full preprocess: normalised pixels in the patch layout, and tgt_sizes
        try:
            out = ip.preprocess(im, max_slice_nums=9)
        except Exception as e:  # noqa: BLE001 - recorded, see the H=1/3 note in the report
            raised.append(f"{c['name']} ({im.size[0]}x{im.size[1]}): {type(e).__name__}: {str(e)[:80]}")
            continue
        pv, ts = out["pixel_values"][0], out["tgt_sizes"][0]
        for k, p in enumerate(pieces):
            h, w = int(ts[k][0]), int(ts[k][1])
            if (w * 14, h * 14) != p.size:
                bad.append(f"{c['name']} piece {k}: tgt_size {h}x{w} for a {p.size} piece")
                continue
            u8 = np.array(p)
            mine = np.stack([lut[ch][u8[:, :, ch]] for ch in range(3)])
            if np.array_equal(unpatch(pv[k], h, w), mine):
                nexact += 1
            else:
                d = np.abs(unpatch(pv[k], h, w) - mine).max()
                bad.append(f"{c['name']} piece {k}: normalised pixels differ (max {d:g})")
    report("1a slicing", not bad,
           f"{len(cases['cases'])} images, {npieces} pieces: grid, sizes and uint8 CRC equal"
           + ("" if not bad else "; MISMATCH: " + " | ".join(bad[:5])))
    report("1b preprocess", not bad and nexact > 0,
           f"{nexact} pieces: remote preprocess() pixels (un-patched) == minicpmv_lut[u8] exactly, tgt_sizes equal"
           + (f"; remote preprocess() raised on {len(raised)} image(s): " + " | ".join(raised) if raised else ""))
    sweep = json.load(open(os.path.join(IMG_FIX, "grid_sweep.json")))["sweep"]
    sbad = []
    for s in sweep:
        size = (s["w"], s["h"])
        g = ip.get_sliced_grid(size, 9)
        if g is None:
            want = {"grid": [0, 0], "overview": list(ip.find_best_resize(size, 448, 14, allow_upscale=True)),
                    "refine": [0, 0]}
        else:
            want = {"grid": g, "overview": list(ip.find_best_resize(size, 448, 14)),
                    "refine": list(ip.get_refine_size(size, g, 448, 14, allow_upscale=True))}
        if any(s[k] != want[k] for k in want):
            sbad.append(f"{size}: {want} vs {s}")
    report("1c grid sweep", not sbad, f"{len(sweep)} sizes: grid/overview/refine equal" +
           ("" if not sbad else "; MISMATCH: " + " | ".join(sbad[:5])))


# ---------------------------------------------------------------- 2./3. vision tower and resampler
def build_minicpmv(R, cfg, drop_last):
    cfg = dict(cfg, drop_vision_last_layer=drop_last)
    conf = R["configuration_minicpm"].MiniCPMVConfig(**cfg)
    conf._attn_implementation = "eager"
    torch.manual_seed(0)
    model = R["modeling_minicpmv"].MiniCPMV(conf).float().eval()
    sd = {k: v.float() for k, v in load_pt(os.path.join(VIS_FIX, "minicpm-tiny", "model.safetensors")).items()}
    if drop_last:
        last = len(model.vpm.encoder.layers)
        sd = {k: v for k, v in sd.items() if not k.startswith(f"vpm.encoder.layers.{last}.")}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.startswith("llm.")]
    assert not missing and not unexpected, f"weights do not fit the remote model: {missing} {unexpected}"
    mine = model.state_dict()
    assert all(torch.equal(mine[k], sd[k]) for k in sd)
    return model


def remote_batch(R, model, ip, pixel_list):
    """MiniCPMV.get_vllm_embedding on one batch of slices: (vpm last_hidden_state rows, resampler output)."""
    pv = [torch.from_numpy(ip.reshape_by_patch(p.numpy())) for p in pixel_list]
    ts = [torch.tensor([p.shape[1] // 14, p.shape[2] // 14]) for p in pixel_list]
    # capture the vpm output on the way through get_vllm_embedding
    seen = {}
    hook = model.vpm.register_forward_hook(lambda m, i, o: seen.__setitem__("vpm", o.last_hidden_state))
    data = {"pixel_values": [pv], "tgt_sizes": [torch.stack(ts)],
            "input_ids": torch.zeros((1, 4), dtype=torch.long), "image_bound": [torch.zeros((0, 2))]}
    with torch.no_grad():
        _, vhs = model.get_vllm_embedding(data)
    hook.remove()
    vpm = [seen["vpm"][k, : int(t[0] * t[1])] for k, t in enumerate(ts)]
    return vpm, vhs[0]


def check_vision(R):
    G = load_ours("make_vision_fixtures", "make_vision_fixtures.py")
    ip = image_processor(R)
    cfg = json.load(open(os.path.join(VIS_FIX, "minicpm-tiny", "config.json")))
    cases = load_pt(os.path.join(VIS_FIX, "minicpm-cases.safetensors"))
    n = len([k for k in cases if k.startswith("grid_")])
    px = [cases[f"pixels_{i}"] for i in range(n)]

    # 2a/3a: the stored fixtures, all slices in one padded batch as the real model runs them
    full = build_minicpmv(R, cfg, drop_last=False)
    drop = build_minicpmv(R, cfg, drop_last=True)
    vpm, res = remote_batch(R, full, ip, px)
    vpm_d, _ = remote_batch(R, drop, ip, px)
    dv = max((vpm[i] - cases[f"vpm_{i}"]).abs().max().item() for i in range(n))
    dd = max((vpm_d[i] - cases[f"vpm_drop_{i}"]).abs().max().item() for i in range(n))
    dr = max((res[i] - cases[f"res_{i}"]).abs().max().item() for i in range(n))
    sv = max(cases[f"vpm_{i}"].abs().max().item() for i in range(n))
    sr = max(cases[f"res_{i}"].abs().max().item() for i in range(n))
    grids = [tuple(cases[f"grid_{i}"].tolist()) for i in range(n)]
    report("2a vpm fixtures", dv < 1e-4 and dd < 1e-4,
           f"grids {grids} batched+padded: max|diff| vpm {dv:.2e}, vpm_drop {dd:.2e} (max|ref| {sv:.2f})")
    report("3a resampler fixtures", dr < 1e-4, f"same batch: max|diff| res {dr:.2e} (max|ref| {sr:.2f})")

    # 2b/3b: more grids, one at a time and batched, vs make_vision_fixtures.navit_forward / Resampler
    from transformers.models.idefics2.configuration_idefics2 import Idefics2VisionConfig
    from transformers.models.idefics2.modeling_idefics2 import Idefics2VisionTransformer
    vc = cfg["vision_config"]
    more = [(25, 2), (2, 25), (55, 3), (3, 55), (1, 1), (7, 9), (13, 25), (70, 1), (4, 75)]
    for nps, tower, label in ((5, full.vpm, "nps 5 (fixture weights)"), (70, None, "nps 70 (random weights)")):
        if tower is None:
            sc = R["modeling_navit_siglip"].SiglipVisionConfig(
                hidden_size=vc["hidden_size"], intermediate_size=vc["intermediate_size"], num_hidden_layers=2,
                num_attention_heads=vc["num_attention_heads"], image_size=14 * nps, patch_size=14,
                hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6)
            sc._attn_implementation = "eager"
            tower = R["modeling_navit_siglip"].SiglipVisionTransformer(sc).eval()
            G.randomize(tower, torch.Generator().manual_seed(7))
        icfg = Idefics2VisionConfig(hidden_size=vc["hidden_size"], intermediate_size=vc["intermediate_size"],
                                    num_hidden_layers=len(tower.encoder.layers),
                                    num_attention_heads=vc["num_attention_heads"], image_size=14 * nps,
                                    patch_size=14, hidden_act="gelu_pytorch_tanh", layer_norm_eps=1e-6)
        icfg._attn_implementation = "eager"
        ours = Idefics2VisionTransformer(icfg).eval()
        ours.load_state_dict(tower.state_dict())
        gen = torch.Generator().manual_seed(11)
        pixels = [torch.randn((3, h * 14, w * 14), generator=gen) for h, w in more]
        worst, worst_b, native = 0.0, 0.0, []
        with torch.no_grad():
            refs = [G.navit_forward(ours, p[None], h, w, nps, drop_last=False) for p, (h, w) in zip(pixels, more)]
            for p, (h, w), r in zip(pixels, more, refs):  # one slice per call (no padding)
                pv = torch.from_numpy(ip.reshape_by_patch(p.numpy()))[None]
                out = tower(pv, tgt_sizes=torch.tensor([[h, w]], dtype=torch.int32)).last_hidden_state[0]
                worst = max(worst, (out - r).abs().max().item())
                # control: transformers' own Idefics2 forward (its bucket formula) on the same slice
                if (ours(p[None]).last_hidden_state[0] - out).abs().max().item() > 1e-4:
                    native.append((h, w))
            # all in one padded batch with the attention mask, as get_vllm_embedding does
            L = max(h * w for h, w in more)
            pv = torch.zeros((len(more), 3, 14, L * 14))
            mask = torch.zeros((len(more), 1, L), dtype=torch.bool)
            for k, (p, (h, w)) in enumerate(zip(pixels, more)):
                pv[k, :, :, : h * w * 14] = torch.from_numpy(ip.reshape_by_patch(p.numpy()))
                mask[k, 0, : h * w] = True
            outb = tower(pv, patch_attention_mask=mask,
                         tgt_sizes=torch.tensor(more, dtype=torch.int32)).last_hidden_state
            for k, ((h, w), r) in enumerate(zip(more, refs)):
                worst_b = max(worst_b, (outb[k, : h * w] - r).abs().max().item())
        report(f"2b vpm grids, {label}", worst < 1e-4 and worst_b < 1e-4,
               f"(h,w) {more}: max|diff| single {worst:.2e}, padded batch {worst_b:.2e}; control: "
               f"transformers' own Idefics2VisionTransformer.forward differs from the remote on {native or 'none'}")

    # 2c: position ids of the remote embeddings vs buckets.safetensors, every side 1..128
    tables = load_pt(os.path.join(VIS_FIX, "buckets.safetensors"))
    bad, native = [], {}
    for key, table in tables.items():
        nps = int(key.split("_")[1])
        sc = R["modeling_navit_siglip"].SiglipVisionConfig(hidden_size=1, image_size=14 * nps, patch_size=14)
        emb = R["modeling_navit_siglip"].SiglipVisionEmbeddings(sc)
        with torch.no_grad():
            emb.patch_embedding.weight.zero_()
            emb.patch_embedding.bias.zero_()
            emb.position_embedding.weight.copy_(torch.arange(nps * nps, dtype=torch.float32)[:, None])
            for side in range(1, 129):
                # an (side x 1) grid gives the row buckets times nps; a (1 x side) grid gives the column buckets
                for h, w in ((side, 1), (1, side)):
                    pv = torch.zeros((1, 3, 14, h * w * 14))
                    mask = torch.ones((1, 1, h * w), dtype=torch.bool)
                    ids = emb(pv, mask, torch.tensor([[h, w]], dtype=torch.int32))[0, :, 0].round().long()
                    got = ids // nps if w == 1 else ids % nps
                    want = table[side - 1, :side].long()
                    if not torch.equal(got, want):
                        bad.append(f"nps {nps} side {side} ({h}x{w})")
                # control: transformers' Idefics2VisionEmbeddings formula (arange(n) / n * (1 - 1e-6))
                frac = torch.arange(side) / side * (1 - 1e-6)
                bnd = torch.arange(1 / nps, 1.0, 1 / nps)
                if not torch.equal(torch.bucketize(frac, bnd, right=True), table[side - 1, :side].long()):
                    native.setdefault(nps, []).append(side)
    report("2c position buckets", not bad,
           f"{len(tables)} tables (nps {sorted(int(k.split('_')[1]) for k in tables)}), sides 1..128 as rows and "
           f"as columns: equal" + ("" if not bad else "; MISMATCH: " + ", ".join(bad[:8])) +
           "; control: transformers' Idefics2 formula differs on "
           + (", ".join(f"{len(v)}/128 sides for nps {k}" for k, v in sorted(native.items())) or "no side"))

    # 3b: the resampler on more grids (incl. beyond the 70x70 cache), remote vs plain torch
    emb_dim, q = cfg["hidden_size"], cfg["query_num"]
    ours = G.Resampler(q, emb_dim, emb_dim // 128, vc["hidden_size"]).eval()
    ours.load_state_dict({k[len("resampler."):]: v.float() for k, v in
                          load_pt(os.path.join(VIS_FIX, "minicpm-tiny", "model.safetensors")).items()
                          if k.startswith("resampler.")})
    gen = torch.Generator().manual_seed(12)
    xs = [torch.randn((h * w, vc["hidden_size"]), generator=gen) for h, w in more]
    with torch.no_grad():
        refs = [ours(x, h, w) for x, (h, w) in zip(xs, more)]
        worst = 0.0
        for x, (h, w), r in zip(xs, more, refs):
            out = full.resampler(x[None], torch.tensor([[h, w]], dtype=torch.int32))[0]
            worst = max(worst, (out - r).abs().max().item())
        xb = torch.nn.utils.rnn.pad_sequence(xs, batch_first=True)
        outb = full.resampler(xb, torch.tensor(more, dtype=torch.int32))
        worst_b = max((outb[k] - r).abs().max().item() for k, r in enumerate(refs))
        # the same in float64: a difference that is only f32 rounding shrinks by ~1e9 here
        ours64, res64 = ours.double(), full.resampler.double()
        worst64 = max((res64(x[None].double(), torch.tensor([[h, w]], dtype=torch.int32))[0] -
                       ours64(x.double(), h, w)).abs().max().item() for x, (h, w) in zip(xs, more))
        full.resampler.float()
    report("3b resampler grids", worst < 1e-4 and worst_b < 1e-4 and worst64 < 1e-12,
           f"(h,w) {more}: max|diff| single {worst:.2e}, padded batch {worst_b:.2e}, float64 {worst64:.1e}")


# ---------------------------------------------------------------- 4. prompt layout and ids
def size_for_grid(ip, grid):
    for k in range(1, 40):
        for w, h in ((grid[0] * 448 * k // 4, grid[1] * 448 * k // 4),):
            if ip.get_sliced_grid((w, h), 9) == list(grid):
                return (w, h)
    raise AssertionError(f"no size found for grid {grid}")


def check_prompt(R):
    ip = image_processor(R)
    tok = R["tokenization_minicpmv_fast"].MiniCPMVTokenizerFast.from_pretrained(MINICPM_DIR)
    proc = R["processing_minicpmv"].MiniCPMVProcessor(image_processor=ip, tokenizer=tok)
    ref = json.load(open(os.path.join(TOK_FIX, "chat.json")))["minicpmv"]
    bad, n_img = [], 0
    for i, c in enumerate(ref):
        msgs = []
        for role, n, text in c["messages"]:  # as MiniCPMV.chat builds the content
            parts = ["(<image>./</image>)"] * n + ([text] if text is not None else [])
            msgs.append({"role": role, "content": "\n".join(parts)})
        rendered = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        if rendered != c["rendered"]:
            bad.append(f"case {i}: rendered text differs")
        images = []
        for g in c["grids"]:
            size = (448, 336) if g == [0, 0] else size_for_grid(ip, g)
            images.append(Image.new("RGB", size, (120, 30, 200)))
        n_img += len(images)
        if images:
            out = proc(rendered, images, max_slice_nums=9, return_tensors=None)
            ids, bounds = out["input_ids"][0].tolist(), out["image_bound"][0].tolist()
            want_bounds = sum(1 + g[0] * g[1] for g in c["grids"])
            if len(bounds) != want_bounds or any(b - a != 64 for a, b in bounds):
                bad.append(f"case {i}: image_bound {bounds}")
        else:
            ids = tok.encode(rendered)
        if ids != c["ids"]:
            bad.append(f"case {i}: ids differ (len {len(ids)} vs {len(c['ids'])})")
        # the expanded text, as the processor builds it, vs the fixture's
        chunks = rendered.split("(<image>./</image>)")
        text = "".join(chunks[k] + ip.get_slice_image_placeholder(im.size, k, 9, True)
                       for k, im in enumerate(images)) + chunks[-1]
        if text != c["expanded"]:
            bad.append(f"case {i}: expanded text differs")
    report("4 prompt", not bad, f"{len(ref)} chat.json cases ({n_img} images, sliced and unsliced): rendered "
           "text, expanded text, input ids and image_bound equal" + ("" if not bad else "; " + " | ".join(bad)))


# ---------------------------------------------------------------- 5. end to end on the tiny VLM fixture
def check_vlm(R):
    """The remote MiniCPMV (processor, get_vllm_embedding, llm) on tests/fixtures/vlm/minicpmv-tiny, in float64
    like make_vlm_fixtures.py's references, vs its cases.safetensors (ids, spans, pixels, features, logits,
    greedy tokens)."""
    vdir = os.path.join(ROOT, "tests", "fixtures", "vlm")
    mdir = os.path.join(vdir, "minicpmv-tiny")
    if not os.path.isfile(os.path.join(vdir, "cases.safetensors")):
        report("5 vlm end to end", False, "tests/fixtures/vlm/cases.safetensors is missing")
        return
    cfg = json.load(open(os.path.join(mdir, "config.json")))
    conf = R["configuration_minicpm"].MiniCPMVConfig(**cfg)
    conf._attn_implementation = "eager"
    model = R["modeling_minicpmv"].MiniCPMV(conf).eval()
    model.load_state_dict({k: v.double() for k, v in load_pt(os.path.join(mdir, "model.safetensors")).items()},
                          strict=False)
    model = model.double()
    sd = load_pt(os.path.join(mdir, "model.safetensors"))
    assert all(torch.equal(model.state_dict()[k], sd[k].double()) for k in sd) and \
        set(sd) == set(k for k in model.state_dict() if k != "resampler.pos_embed"), "weights do not fit"
    pre = json.load(open(os.path.join(mdir, "preprocessor_config.json")))
    pre.pop("image_processor_type", None)
    ip = R["image_processing_minicpmv"].MiniCPMVImageProcessor(**pre)
    tok = R["tokenization_minicpmv_fast"].MiniCPMVTokenizerFast.from_pretrained(mdir)
    proc = R["processing_minicpmv"].MiniCPMVProcessor(image_processor=ip, tokenizer=tok)
    cases = load_pt(os.path.join(vdir, "cases.safetensors"))
    from safetensors import safe_open
    with safe_open(os.path.join(vdir, "cases.safetensors"), "pt") as f:
        meta = f.metadata()
    meta = json.loads(meta["info"]) if "info" in meta else meta  # make_vlm_fixtures.py: one sorted JSON key
    figs, bad, c = [], [], 0
    while f"minicpmv_{c}.ids" in cases:
        name = f"minicpmv_{c}"
        rel = meta[f"{name}.image"]
        path = os.path.join(SHARED, "data", rel) if rel.startswith("gqa-demo") else os.path.join(ROOT, "tests",
                                                                                                "fixtures", rel)
        im = Image.open(path).convert("RGB")
        msgs = [{"role": "user", "content": [im, meta[f"{name}.question"]]}]
        for m in msgs:  # as MiniCPMV.chat: images become "(<image>./</image>)", parts joined with "\n"
            m["content"] = "\n".join("(<image>./</image>)" if isinstance(x, Image.Image) else x for x in m["content"])
        rendered = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        data = proc(rendered, [im], max_slice_nums=None, return_tensors="pt")
        ids = data["input_ids"][0].tolist()
        if ids != cases[f"{name}.ids"].tolist():
            bad.append(f"{name}: ids differ")
        spans = [[a, b - a] for a, b in data["image_bound"][0].tolist()]
        if spans != cases[f"{name}.spans"].tolist():
            bad.append(f"{name}: image_bound {spans} vs spans {cases[name + '.spans'].tolist()}")
        ts = data["tgt_sizes"][0]
        dpx = 0.0
        for k, pv in enumerate(data["pixel_values"][0]):
            ref = cases[f"{name}.pixels_{k}"]
            got = torch.from_numpy(unpatch(pv.numpy(), int(ts[k][0]), int(ts[k][1])))
            dpx = max(dpx, float("inf") if got.shape != ref.shape else (got - ref).abs().max().item())
        data["pixel_values"] = [[p.double() for p in data["pixel_values"][0]]]
        data["input_ids"] = data["input_ids"].long()
        with torch.no_grad():
            emb, vhs = model.get_vllm_embedding(data)
            feats = vhs[0].reshape(-1, vhs[0].shape[-1])
            T = emb.shape[1]
            logits = model.llm(inputs_embeds=emb, position_ids=torch.arange(T)[None]).logits[0]
            rows = cases[f"{name}.rows"].long()
            # 8 greedy tokens, each step a fresh full forward through the remote embedding path
            toks = []
            for _ in range(cases[f"{name}.greedy"].numel()):
                d2 = dict(data, input_ids=torch.tensor([ids + toks]))
                e2, _ = model.get_vllm_embedding(d2)
                toks.append(int(model.llm(inputs_embeds=e2).logits[0, -1].argmax()))
        df = (feats - cases[f"{name}.features"].double()).abs().max().item()
        dl = (logits[rows] - cases[f"{name}.logits"].double()).abs().max().item()
        if toks != cases[f"{name}.greedy"].tolist():
            bad.append(f"{name}: greedy {toks} vs {cases[name + '.greedy'].tolist()}")
        if dpx != 0.0 or df > 1e-5 or dl > 1e-5:
            bad.append(f"{name}: pixels {dpx:.1e} features {df:.1e} logits {dl:.1e}")
        figs.append(f"{name} ({len(ts)} pieces, T={T}): pixels {dpx:.1e}, features {df:.1e}, logits {dl:.1e}")
        c += 1
    report("5 vlm end to end", c > 0 and not bad,
           "remote processor + MiniCPMV.get_vllm_embedding + llm in float64 vs tests/fixtures/vlm/cases.safetensors"
           f": ids, image_bound, greedy tokens equal; max|diff| " + "; ".join(figs) + ("; " + " | ".join(bad) if bad
                                                                                       else ""))


def main():
    if len(sys.argv) != 2 or not os.path.isdir(sys.argv[1]):
        sys.exit(__doc__)
    torch.set_num_threads(1)
    R = load_remote(os.path.abspath(sys.argv[1]))
    print(f"versions: torch {torch.__version__}, transformers {transformers.__version__}, Pillow "
          f"{PIL.__version__}, numpy {np.__version__}; remote code from {sys.argv[1]}")
    for f in (check_image, check_vision, check_prompt, check_vlm):
        try:
            f(R)
        except Exception as e:  # noqa: BLE001 - one broken item must not hide the others
            import traceback
            traceback.print_exc()
            report(f.__name__, False, f"{type(e).__name__}: {e}")
    print(f"{sum(ok for _, ok in results)}/{len(results)} items pass")
    return 0 if all(ok for _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
