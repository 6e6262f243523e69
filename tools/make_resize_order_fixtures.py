#!/usr/bin/env python3
"""make_resize_order_fixtures.py: Pillow's bicubic pass order, for tests/unit/test_resize_order.c and
tests/cli/resize_order.sh.

Pillow resizes in two separable passes through an 8-bit intermediate, so which pass runs first changes the
pixels. Pillow < 12.2 always ran the horizontal pass first; Pillow 13.0.0 (src/libImaging/Resample.c,
ImagingResampleInner, PR python-pillow/Pillow#9549) runs the vertical pass first when the height shrinks by
more than twice as many pixels as the width does. This script records what Pillow 13 and an older Pillow
(12.1, the order fc-eval's --legacy-resize keeps) produce, on:

  pairs.txt        the order rule itself: PAIRS random (src, dst) size pairs (sources 1..40 px a side,
                   targets 1..60, most of them shrinking the height, a third placed on the threshold
                   dh = 2*dw - 1, 2*dw, 2*dw + 1), each resizing a small noise image (see noise() below; the
                   C test makes the same pixels). One line per pair:
                       sw sh dw dh crc13 order crc_legacy
                   crc13: CRC-32 of Pillow 13's result; order: which order Pillow 13 used, found by comparing
                   with the two orders composed from one-axis resizes ('v' vertical first, 'h' horizontal
                   first, 'b' both orders give the same pixels); crc_legacy: CRC-32 of the old Pillow's
                   result, '-' when it equals crc13.
  cases.json       tall images (noise of the listed size) through both pipelines: LLaVA (transformers'
                   CLIPImageProcessor, slow PIL path, llava-1.5-7b-hf's settings): the resize size and the
                   CRC-32 of the 336x336 uint8 crop it normalises; MiniCPM-V-2.6 (the slicing of
                   image_processing_minicpmv.py, as tools/make_image_fixtures.py re-implements it with
                   Pillow doing every resize): grid, each piece's size and CRC-32. Each under Pillow 13 and
                   the old Pillow, with the order Pillow 13's rule picks for each resize. Sizes: the ones of
                   issue 13 (400x1300, 350x2000, 500x1000, 600x1000, 1x900, 200x3000, 333x999, ...) and
                   sizes on either side of the threshold, found by scanning.
  doc_400x1300.png a tall screenshot-like image for the CLI test; cli.json: SHA-256 of the data section of
                   the safetensors file `fc-eval preprocess` must write for it (LLaVA and MiniCPM-V, default
                   and --legacy-resize), computed from the processors' outputs with the safetensors library.

The old Pillow runs in a second Python (OLD_PILLOW_PYTHON, default build/venv-pillow12/bin/python, made on
first use with Pillow==12.1.1 and this transformers/numpy): this script calls itself there with --legacy and
merges what it prints. Run with the shared venv (Pillow 13.0.0):
    /work/venv/bin/python tools/make_resize_order_fixtures.py
Deterministic; records the versions of both runs.
"""
import hashlib
import json
import os
import random
import subprocess
import sys
import zlib

import numpy as np
import PIL
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_image_fixtures as mif  # noqa: E402  (the CLIP reference and the MiniCPM-V slicing)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "image", "resize_order")
PAIRS = 3000
OLD_PILLOW = "12.1.1"


def crc(a):
    return zlib.crc32(np.ascontiguousarray(a, dtype=np.uint8).tobytes()) & 0xFFFFFFFF


def noise(w, h, seed):
    """(h, w, 3) uint8: byte i of the row-major RGB buffer is the top byte of murmur3's fmix32 of
    (i + 1) * 0x9E3779B1 + seed * 0x85EBCA77 (all mod 2^32); test_resize_order.c computes the same."""
    i = np.arange(w * h * 3, dtype=np.uint64)
    x = (((i + 1) * 0x9E3779B1 + seed * 0x85EBCA77) & 0xFFFFFFFF).astype(np.uint64)
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & 0xFFFFFFFF
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & 0xFFFFFFFF
    x ^= x >> 16
    return (x >> 24).astype(np.uint8).reshape(h, w, 3)


def rule_vertical_first(sw, sh, dw, dh):
    """Pillow 13's rule, used here only to choose sizes near the threshold and to label the cases; every
    expected pixel comes from Pillow itself."""
    return sh - dh > 0 and sh - dh > 2 * (sw - dw)


def order_used(im, size):
    """Which order Pillow's resize used: compare with both orders composed from one-axis resizes (a resize
    that keeps one side runs only the other pass)."""
    out = np.array(im.resize(size, Image.BICUBIC))
    w, h = size
    hf = np.array(im.resize((w, im.size[1]), Image.BICUBIC).resize(size, Image.BICUBIC))
    vf = np.array(im.resize((im.size[0], h), Image.BICUBIC).resize(size, Image.BICUBIC))
    if np.array_equal(hf, vf):
        assert np.array_equal(out, hf)
        return out, "b"
    if np.array_equal(out, vf):
        return out, "v"
    assert np.array_equal(out, hf), f"{im.size} -> {size}: Pillow's result is neither pass order"
    return out, "h"


# ---------------- the size pairs ----------------
def make_pairs():
    rng = random.Random(13)
    pairs = []
    while len(pairs) < PAIRS:
        sw, sh = rng.randint(1, 40), rng.randint(1, 40)
        dw = rng.randint(1, 60)
        kind = rng.random()
        if kind < 0.35:  # on the threshold: sh - dh = 2 (sw - dw) + k
            dh = sh - (2 * (sw - dw) + rng.choice((-1, 0, 1)))
            if not 1 <= dh <= 60:
                continue
        elif kind < 0.85:  # the height shrinks
            if sh < 2:
                continue
            dh = rng.randint(1, sh - 1)
        else:
            dh = rng.randint(1, 60)
        if (sw, sh) == (dw, dh):
            continue
        pairs.append((sw, sh, dw, dh))
    return pairs


def pair_crcs(pairs):
    return [crc(np.array(Image.fromarray(noise(sw, sh, k)).resize((dw, dh), Image.BICUBIC)))
            for k, (sw, sh, dw, dh) in enumerate(pairs)]


# ---------------- the tall images through both pipelines ----------------
LLAVA_SIZES = [(400, 1300), (350, 2000), (500, 1000), (600, 1000), (1, 900), (200, 3000), (333, 999),
               (337, 1000), (800, 2600)]
MINICPMV_SIZES = [(200, 3000), (500, 1000), (333, 999), (400, 1300), (1, 900),
                  (100, 2000), (600, 1000), (450, 1800)]


def clip_resize_size(w, h, e=336):
    short, long = (w, h) if w <= h else (h, w)
    nl = int(e * long / short)
    return (e, nl) if w <= h else (nl, e)


def llava_threshold_sizes():
    """For a few widths, the heights around the first one whose resize runs vertically first."""
    out = []
    for w in (337, 360, 400, 500, 640):
        h = w
        while not rule_vertical_first(w, h, *clip_resize_size(w, h)):
            h += 1
        out += [(w, h - 1), (w, h), (w, h + 1)]
    return out


def minicpmv_resizes(w, h):
    """The (target size) of each Pillow resize the MiniCPM-V slicing does for a w x h image."""
    grid = mif.get_sliced_grid((w, h))
    if grid is None:
        return [mif.find_best_resize((w, h), True)]
    return [mif.find_best_resize((w, h)), mif.get_refine_size((w, h), grid)]


def minicpmv_threshold_sizes():
    """Tall sizes whose overview resize sits just on either side of the threshold."""
    out = []
    for w in (300, 420, 520):
        prev = None
        for h in range(w + 1, 6 * w):
            ov = minicpmv_resizes(w, h)[0]
            v = rule_vertical_first(w, h, *ov)
            if prev is not None and v != prev:
                out += [(w, h - 1), (w, h)]
                break
            prev = v
    return out


def case_seed(w, h):
    return (w * 7919 + h) & 0xFFFF


def run_cases():
    proc, cfg = mif.clip_processor()
    llava, mcv = [], []
    for w, h in dict.fromkeys(LLAVA_SIZES + llava_threshold_sizes()):  # in order, without repeats
        im = Image.fromarray(noise(w, h, case_seed(w, h)))
        out, rsize, _, crop = mif.clip_reference(proc, cfg, im)
        llava.append({"w": w, "h": h, "resize": list(rsize), "crop_crc": crc(crop),
                      "vertical_first": rule_vertical_first(w, h, *rsize)})
    for w, h in dict.fromkeys(MINICPMV_SIZES + minicpmv_threshold_sizes()):
        im = Image.fromarray(noise(w, h, case_seed(w, h)))
        grid, pieces = mif.minicpm_slices(im)
        mcv.append({"w": w, "h": h, "grid": grid or [0, 0],
                    "pieces": [[p.size[0], p.size[1], crc(np.array(p))] for p in pieces],
                    "vertical_first": [rule_vertical_first(w, h, *s) for s in minicpmv_resizes(w, h)]})
    return llava, mcv


# ---------------- the CLI image ----------------
def doc_image(w=400, h=1300):
    """A tall screenshot-like page: white, lines of dark 'words', a few coloured blocks (compresses well as
    PNG; its sharp edges make the two pass orders differ)."""
    rng = np.random.default_rng(1300)
    a = np.full((h, w, 3), 255, np.uint8)
    y = 12
    while y < h - 20:
        if rng.random() < 0.12:
            bh = int(rng.integers(30, 90))
            a[y:y + bh, 20:w - 20] = rng.integers(0, 256, 3)
            y += bh + 10
            continue
        x = 16
        while x < w - 30:
            ww = int(rng.integers(8, 40))
            a[y:y + 9, x:min(x + ww, w - 16)] = rng.integers(0, 90, 3)
            x += ww + int(rng.integers(4, 9))
        y += 15
    return a


def data_sha256(tensors):
    """SHA-256 of the data section of a safetensors file holding `tensors` (the safetensors library's
    layout: tensors ordered by alignment, then name, no gaps)."""
    from safetensors.numpy import save
    b = save(tensors)
    n = int.from_bytes(b[:8], "little")
    return hashlib.sha256(b[8 + n:]).hexdigest()


def cli_hashes(path):
    proc, cfg = mif.clip_processor()
    im = Image.open(path).convert("RGB")
    out, rsize, _, _ = mif.clip_reference(proc, cfg, im)
    llava = data_sha256({"pixel_values": out[None].astype(np.float32)})
    grid, pieces = mif.minicpm_slices(im)
    t = {f"pixel_values.{i}": np.ascontiguousarray(mif.minicpm_normalize(np.array(p)).transpose(2, 0, 1))
         for i, p in enumerate(pieces)}
    t["tgt_sizes"] = np.array([[p.size[1] // 14, p.size[0] // 14] for p in pieces], np.int32)
    return {"llava": llava, "llava_resize": list(rsize), "minicpmv": data_sha256(t), "minicpmv_grid": grid or [0, 0],
            "minicpmv_pieces": [list(p.size) for p in pieces]}


def versions():
    import transformers
    return {"pillow": PIL.__version__, "transformers": transformers.__version__, "numpy": np.__version__,
            "python": sys.version.split()[0]}


def legacy_main():
    """Under the old Pillow: print the same figures as JSON on stdout."""
    pairs = make_pairs()
    llava, mcv = run_cases()
    print(json.dumps({"versions": versions(), "pairs": pair_crcs(pairs), "llava": llava, "minicpmv": mcv,
                      "cli": cli_hashes(os.path.join(OUT, "doc_400x1300.png"))}))


def old_python():
    py = os.environ.get("OLD_PILLOW_PYTHON", os.path.join(ROOT, "build", "venv-pillow12", "bin", "python"))
    if not os.path.exists(py):
        import transformers
        venv = os.path.dirname(os.path.dirname(py))
        subprocess.check_call([sys.executable, "-m", "venv", venv])
        subprocess.check_call([py, "-m", "pip", "install", "-q", f"Pillow=={OLD_PILLOW}", f"numpy=={np.__version__}",
                               f"transformers=={transformers.__version__}", "safetensors"])
    return py


def main():
    if "--legacy" in sys.argv:
        return legacy_main()
    maj, mnr = (int(x) for x in PIL.__version__.split(".")[:2])
    assert (maj, mnr) >= (13, 0), f"run with Pillow 13 (found {PIL.__version__})"
    os.makedirs(OUT, exist_ok=True)
    png = os.path.join(OUT, "doc_400x1300.png")
    Image.fromarray(doc_image()).save(png, optimize=True)
    old = json.loads(subprocess.check_output([old_python(), os.path.abspath(__file__), "--legacy"]))
    ov = old["versions"]["pillow"]
    assert tuple(int(x) for x in ov.split(".")[:2]) < (12, 2), f"the legacy Python has Pillow {ov}"

    pairs = make_pairs()
    counts = {"v": 0, "h": 0, "b": 0}
    lines = []
    for k, (sw, sh, dw, dh) in enumerate(pairs):
        im = Image.fromarray(noise(sw, sh, k))
        out, order = order_used(im, (dw, dh))
        c13 = crc(out)
        # Pillow 13's own choice vs its source's rule: they must agree wherever the order shows
        if order != "b":
            assert (order == "v") == rule_vertical_first(sw, sh, dw, dh), f"{(sw, sh, dw, dh)}: Pillow used {order}"
        # the old Pillow is horizontal-first: its result equals that order composed under Pillow 13
        hf = crc(np.array(im.resize((dw, sh), Image.BICUBIC).resize((dw, dh), Image.BICUBIC)))
        assert old["pairs"][k] == hf, f"{(sw, sh, dw, dh)}: Pillow {ov} is not horizontal-first"
        counts[order] += 1
        cl = "-" if old["pairs"][k] == c13 else f"{old['pairs'][k]:08x}"
        lines.append(f"{sw} {sh} {dw} {dh} {c13:08x} {order} {cl}")
    vers = versions()
    with open(os.path.join(OUT, "pairs.txt"), "w") as f:
        f.write(f"# Pillow bicubic pass order: {len(lines)} (src, dst) pairs; sw sh dw dh crc_pillow{vers['pillow']} "
                f"order crc_pillow{ov} ('-': same). Made by tools/make_resize_order_fixtures.py with Pillow "
                f"{vers['pillow']} and {ov}, numpy {vers['numpy']}.\n")
        f.write("\n".join(lines) + "\n")

    llava, mcv = run_cases()
    for new, o in zip(llava, old["llava"]):
        assert (new["w"], new["h"]) == (o["w"], o["h"])
        new["crop_crc_legacy"] = o["crop_crc"]
    for new, o in zip(mcv, old["minicpmv"]):
        assert (new["w"], new["h"]) == (o["w"], o["h"]) and new["grid"] == o["grid"]
        new["pieces_crc_legacy"] = [p[2] for p in o["pieces"]]
    cli = cli_hashes(png)
    cli["llava_legacy"] = old["cli"]["llava"]
    cli["minicpmv_legacy"] = old["cli"]["minicpmv"]
    meta = {"versions": vers, "versions_legacy": old["versions"],
            "note": "noise(w, h, seed) images, seed = (w * 7919 + h) & 0xFFFF; see tools/make_resize_order_fixtures.py"}
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({**meta, "llava": llava, "minicpmv": mcv}, f, indent=0)
    with open(os.path.join(OUT, "cli.json"), "w") as f:
        json.dump({**meta, "image": "doc_400x1300.png", **cli}, f, indent=1)
    nv_l = sum(c["vertical_first"] for c in llava)
    nv_m = sum(any(c["vertical_first"]) for c in mcv)
    ld = sum(c["crop_crc"] != c["crop_crc_legacy"] for c in llava)
    md = sum(any(a[2] != b for a, b in zip(c["pieces"], c["pieces_crc_legacy"])) for c in mcv)
    print(f"resize order fixtures: {len(lines)} pairs (v {counts['v']}, h {counts['h']}, same {counts['b']}); "
          f"llava {len(llava)} images ({nv_l} vertical-first, {ld} differ from Pillow {ov}); "
          f"minicpmv {len(mcv)} images ({nv_m} with a vertical-first resize, {md} differ from Pillow {ov}) -> {OUT}")


if __name__ == "__main__":
    main()
