#!/usr/bin/env python3
"""make_image_fixtures.py: reference pixels for tests/unit/test_image.c, from Pillow and transformers.

Writes tests/fixtures/image/:
  edge/*.png, edge/*.jpg   generated edge-case images: 1xN, Nx1, 1x1, 3xN, extreme aspect ratios, 4032x3024,
                           grey (L), LA, RGBA, palette (+tRNS), 1-bit, 4-bit palette, 16-bit grey/LA/RGB/RGBA
                           and Adam7-interlaced PNGs (written by a small PNG encoder below, since Pillow cannot
                           write them), CMYK, progressive, 4:2:2 and EXIF-rotated JPEGs.
  cases.json               per image (the 66 GQA JPEGs in $SHARED/data/gqa-demo/gqa and every edge image):
                           size and CRC-32 of Image.open(p).convert("RGB"); the LLaVA (CLIPImageProcessor) resize
                           size, CRC of the full PIL bicubic resize and of the 336x336 uint8 crop that the
                           processor normalises; the same with LLaVA's expand2square for a few; the MiniCPM-V
                           grid and each piece's size and CRC. uint8 pixels are compared exactly, via CRC-32.
                           Also resize_sweep (Pillow BICUBIC to 80 sizes that exercise both pass orders, and
                           the horizontal-first order of Pillow < 12.2 composed from two one-axis resizes) and
                           truncation (the shortest prefix of a few files that Pillow still opens).
  norm.safetensors         clip_lut [3,256] f32: what the real CLIPImageProcessor makes of each byte value in
                           each channel (from a 336x336 image holding every value, which the processor neither
                           resizes nor crops); minicpmv_lut [3,256] f32 likewise for the MiniCPM-V normalisation;
                           clip.<name> [3,336,336] f32: the processor's full output for one GQA image.
  grid_sweep.json          MiniCPM-V grid, overview size and refine size for 200 random (W, H) and the worked
                           examples of reference §3.3.
  VERSIONS                 library versions.
Also writes the bad-input corpus tests/corpus/image/ (truncated, corrupt, absurd-size files).

The MiniCPM-V processor is remote code (not available offline); its slicing is re-implemented here in
plain Python from image_processing_minicpmv.py as quoted in ../shared/reference/model-architectures.md §3.3,
with Pillow doing every resize. transformers infers the channel axis of an (H, W, 3) array and guesses wrong
when H is 1 or 3 (it takes H for the channels); we pass input_data_format="channels_last", which is what the
processor does for every other image. Deterministic (seeded).
"""
import glob
import io
import json
import math
import os
import random
import struct
import sys
import zlib

import numpy as np
import PIL
import transformers
from PIL import Image, features
from safetensors.numpy import save_file
from transformers import CLIPImageProcessor

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "tests", "fixtures", "image")
EDGE = os.path.join(OUT, "edge")
CORPUS = os.path.join(ROOT, "tests", "corpus", "image")
SHARED = os.environ.get("SHARED", os.path.join(ROOT, "..", "shared"))
GQA = os.path.join(SHARED, "data", "gqa-demo", "gqa")
LLAVA_DIR = os.path.join(SHARED, "data", "models", "llava-1.5-7b-hf")


def crc(a):
    return zlib.crc32(np.ascontiguousarray(a, dtype=np.uint8).tobytes()) & 0xFFFFFFFF


# ---------------- a minimal PNG writer for the types Pillow cannot save ----------------
def png_bytes(w, h, color_type, depth, raw_rows, plte=None, trns=None):
    """raw_rows: list of bytes, each one row of packed samples (big-endian for 16-bit)."""
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0)
    data = b"".join(b"\x00" + r for r in raw_rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
    if plte is not None:
        out += chunk(b"PLTE", plte)
    if trns is not None:
        out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(data, 9)) + chunk(b"IEND", b"")


ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]


def png_interlaced(arr, color_type, depth):
    """Adam7 PNG of an (H, W, C) uint8/uint16 array (filter 0 on every row; empty passes left out)."""
    h, w = arr.shape[:2]
    rows = []
    for x0, y0, dx, dy in ADAM7:
        sub = arr[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        for r in sub:
            rows.append((r.astype(">u2") if depth == 16 else r.astype(np.uint8)).tobytes())
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 1)
    data = b"".join(b"\x00" + r for r in rows)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(data, 9)) +
            chunk(b"IEND", b""))


def smooth(w, h, seed):
    """A smooth colour image that compresses well, with some texture."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    f = [rng.uniform(1, 6, 2) for _ in range(3)]
    img = np.stack([127.5 + 127.5 * np.sin(2 * math.pi * (f[c][0] * x / max(w, 1) + f[c][1] * y / max(h, 1)) + c)
                    for c in range(3)], -1)
    return np.clip(img, 0, 255).astype(np.uint8)


def noise(w, h, seed, ch=3):
    return np.random.default_rng(seed).integers(0, 256, (h, w, ch) if ch > 1 else (h, w), dtype=np.uint8)


def make_edge_images():
    os.makedirs(EDGE, exist_ok=True)
    files = []

    def save(name, im, **kw):
        im.save(os.path.join(EDGE, name), **kw)
        files.append(name)

    def save_raw(name, b):
        with open(os.path.join(EDGE, name), "wb") as f:
            f.write(b)
        files.append(name)

    save("tall_1x37.png", Image.fromarray(noise(1, 37, 1)))
    save("wide_53x1.png", Image.fromarray(noise(53, 1, 2)))
    save("pixel_1x1.png", Image.fromarray(noise(1, 1, 3)))
    save("three_3x40.png", Image.fromarray(noise(40, 3, 4)))            # H = 3: the channel-axis ambiguity
    save("ext_3000x1000.jpg", Image.fromarray(smooth(3000, 1000, 5)), quality=80)
    save("ext_1x500.png", Image.fromarray(noise(1, 500, 6)))
    save("ext_700x2.png", Image.fromarray(noise(700, 2, 7)))
    save("big_4032x3024.jpg", Image.fromarray(smooth(4032, 3024, 8)), quality=70)
    save("small_30x20.png", Image.fromarray(noise(30, 20, 9)))
    save("sq_448.png", Image.fromarray(smooth(448, 448, 10)))
    save("r_640x480.jpg", Image.fromarray(smooth(640, 480, 11)), quality=90)
    save("r_1280x720.jpg", Image.fromarray(smooth(1280, 720, 12)), quality=90)
    save("r_999x1333.jpg", Image.fromarray(smooth(999, 1333, 13)), quality=90, subsampling=0)
    save("grey_L.png", Image.fromarray(noise(97, 61, 14, 1), "L"))
    save("grey_L.jpg", Image.fromarray(smooth(120, 90, 15)[:, :, 0], "L"), quality=85)
    la = Image.fromarray(noise(50, 40, 16, 2), "LA")
    save("grey_LA.png", la)
    save("rgba.png", Image.fromarray(noise(64, 48, 17, 4), "RGBA"))
    pal = Image.fromarray(noise(70, 50, 18, 1) % 200, "L").convert("P")
    pal.putpalette(list(noise(200, 1, 19).reshape(-1)))
    save("palette.png", pal)
    pal_t = pal.copy()
    pal_t.info["transparency"] = bytes(range(0, 200, 3))
    save("palette_trns.png", pal_t, transparency=bytes(range(0, 200, 3)))
    save("bilevel_1bit.png", Image.fromarray(noise(33, 17, 20, 1) > 127))
    # 4-bit palette, 2- and 4-bit grey: Pillow writes P with <= 16 colours as 4-bit only via `bits`
    p4 = Image.fromarray(noise(31, 9, 21, 1) % 16, "L").convert("P")
    p4.putpalette(list(noise(16, 1, 22).reshape(-1)))
    save("palette_4bit.png", p4, bits=4)
    g2 = noise(13, 7, 23, 1) % 4
    save_raw("grey_2bit.png", png_bytes(13, 7, 0, 2, [np.packbits(np.unpackbits(r[:, None], axis=1)[:, 6:].reshape(-1)).tobytes() for r in g2]))
    g4 = noise(11, 5, 24, 1) % 16
    save_raw("grey_4bit.png", png_bytes(11, 5, 0, 4, [np.packbits(np.unpackbits(r[:, None], axis=1)[:, 4:].reshape(-1)).tobytes() for r in g4]))
    # 16-bit: grey (values below and above 255), grey+alpha, RGB, RGBA (big-endian samples)
    rng = np.random.default_rng(25)
    g16 = rng.integers(0, 65536, (9, 23), dtype=np.uint16)
    g16[:, :6] = rng.integers(0, 300, (9, 6))
    save_raw("grey16.png", png_bytes(23, 9, 0, 16, [r.astype(">u2").tobytes() for r in g16]))
    save_raw("grey16_trns.png", png_bytes(23, 9, 0, 16, [r.astype(">u2").tobytes() for r in g16], trns=b"\x00\x05"))
    la16 = rng.integers(0, 65536, (8, 21, 2), dtype=np.uint16)
    save_raw("la16.png", png_bytes(21, 8, 4, 16, [r.astype(">u2").tobytes() for r in la16]))
    rgb16 = rng.integers(0, 65536, (10, 19, 3), dtype=np.uint16)
    save_raw("rgb16.png", png_bytes(19, 10, 2, 16, [r.astype(">u2").tobytes() for r in rgb16]))
    rgba16 = rng.integers(0, 65536, (7, 17, 4), dtype=np.uint16)
    save_raw("rgba16.png", png_bytes(17, 7, 6, 16, [r.astype(">u2").tobytes() for r in rgba16]))
    rgb_trns = noise(15, 12, 26)
    save_raw("rgb_trns.png", png_bytes(15, 12, 2, 8, [r.tobytes() for r in rgb_trns], trns=b"\x00\x10\x00\x20\x00\x30"))
    # Adam7-interlaced (Pillow reads them, cannot write them)
    save_raw("interlaced_rgb.png", png_interlaced(noise(13, 11, 31), 2, 8))
    save_raw("interlaced_grey16.png", png_interlaced(rng.integers(0, 400, (9, 6, 1), dtype=np.uint16), 0, 16))
    save_raw("interlaced_1x1.png", png_interlaced(noise(1, 1, 32), 2, 8))
    # JPEG variants
    cmyk = Image.fromarray(smooth(80, 60, 27)).convert("CMYK")
    save("cmyk.jpg", cmyk, quality=90)
    save("progressive.jpg", Image.fromarray(smooth(333, 222, 28)), quality=85, progressive=True)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 -- convert("RGB") must not apply it
    save("exif_rot6.jpg", Image.fromarray(smooth(64, 40, 29)), quality=90, exif=exif.tobytes())
    save("h2v1_422.jpg", Image.fromarray(smooth(101, 77, 30)), quality=90, subsampling=1)
    return files


# ---------------- reference pipelines ----------------
def clip_processor():
    with open(os.path.join(LLAVA_DIR, "preprocessor_config.json")) as f:
        cfg = json.load(f)
    cfg.pop("processor_class", None)
    cfg.pop("image_processor_type", None)
    return CLIPImageProcessor(**cfg), cfg


def clip_reference(proc, cfg, im):
    """The processor's f32 output and the uint8 crop it normalised (asserted consistent)."""
    out = proc(im, return_tensors="np", input_data_format="channels_last")["pixel_values"][0]
    e = cfg["size"]["shortest_edge"]
    w, h = im.size
    short, long = (w, h) if w <= h else (h, w)
    nl = int(e * long / short)
    rw, rh = (e, nl) if w <= h else (nl, e)
    resized = np.array(im.resize((rw, rh), Image.BICUBIC))
    ch, cw = cfg["crop_size"]["height"], cfg["crop_size"]["width"]
    top, left = (rh - ch) // 2, (rw - cw) // 2
    crop = resized[top:top + ch, left:left + cw]
    x = (crop.astype(np.float64) * cfg["rescale_factor"]).astype(np.float32)
    mean = np.array(cfg["image_mean"], np.float32)
    std = np.array(cfg["image_std"], np.float32)
    mine = ((x - mean) / std).transpose(2, 0, 1)
    assert np.array_equal(mine, out), "CLIP u8 crop does not reproduce the processor output"
    return out, (rw, rh), resized, crop


def expand2square(im, bg):
    w, h = im.size
    if w == h:
        return im
    s = max(w, h)
    r = Image.new(im.mode, (s, s), bg)
    r.paste(im, ((s - w) // 2, (s - h) // 2))
    return r


S, P, MAXN = 448, 14, 9


def ensure_divide(length, p):
    return max(round(length / p) * p, p)


def find_best_resize(size, allow_upscale=False):
    width, height = size
    if width * height > S * S or allow_upscale:
        r = width / height
        height = int(S / math.sqrt(r))
        width = int(height * r)
    return ensure_divide(width, P), ensure_divide(height, P)


def get_refine_size(size, grid):
    width, height = size
    gx, gy = grid
    rw, rh = ensure_divide(width, gx), ensure_divide(height, gy)
    bw, bh = find_best_resize((rw / gx, rh / gy), allow_upscale=True)
    return bw * gx, bh * gy


def get_sliced_grid(size):
    w, h = size
    log_ratio = math.log(w / h)
    ratio = w * h / (S * S)
    multiple = min(math.ceil(ratio), MAXN)
    if multiple <= 1:
        return None
    cands = [i for i in (multiple - 1, multiple, multiple + 1) if i != 1 and i <= MAXN]
    grids = []
    for n in cands:
        m = 1
        while m <= n:
            if n % m == 0:
                grids.append([m, n // m])
            m += 1
    best, min_err = [1, 1], float("inf")
    for g in grids:
        err = abs(log_ratio - math.log(g[0] / g[1]))
        if err < min_err:
            best, min_err = g, err
    return best


def minicpm_slices(im):
    grid = get_sliced_grid(im.size)
    if grid is None:
        return None, [im.resize(find_best_resize(im.size, True), Image.BICUBIC)]
    source = im.copy().resize(find_best_resize(im.size), Image.BICUBIC)
    refine = im.resize(get_refine_size(im.size, grid), Image.BICUBIC)
    W, H = refine.size
    gx, gy = int(W / grid[0]), int(H / grid[1])
    pieces = [source]
    for i in range(0, H, gy):
        for j in range(0, W, gx):
            pieces.append(refine.crop((j, i, j + gx, i + gy)))
    return grid, pieces


def minicpm_normalize(u8):
    x = u8.astype(np.float32) / 255
    m = np.array([0.5, 0.5, 0.5], np.float32)
    return (x - m) / m


# ---------------- corpus of bad inputs ----------------
def make_corpus():
    os.makedirs(CORPUS, exist_ok=True)
    src = sorted(glob.glob(os.path.join(GQA, "*.jpg")))[0]
    jpg = open(src, "rb").read()
    png_ok = open(os.path.join(EDGE, "small_30x20.png"), "rb").read()
    items = {}

    def put(name, data, why):
        with open(os.path.join(CORPUS, name), "wb") as f:
            f.write(data)
        items[name] = why

    put("truncated_half.jpg", jpg[: len(jpg) // 2], "a GQA JPEG cut in half (Pillow: image file is truncated)")
    put("truncated_header.jpg", jpg[:300], "a JPEG cut inside its header tables")
    put("truncated.png", png_ok[: len(png_ok) - 200], "a PNG cut inside its IDAT chunk")
    put("empty.jpg", b"", "an empty file")
    put("not_an_image.jpg", b"hello, this is text\n" * 4, "text with a .jpg name")
    put("garbage_after_soi.jpg", b"\xff\xd8\xff" + bytes(random.Random(1).randrange(256) for _ in range(500)),
        "JPEG magic followed by random bytes")
    ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    put("huge_100000x100000.png", b"\x89PNG\r\n\x1a\n" + chunk, "a valid IHDR claiming 100000x100000 pixels and no data")
    # SOF0 of a real JPEG rewritten to 65000x65000
    b = bytearray(jpg)
    i = b.find(b"\xff\xc0")
    struct.pack_into(">HH", b, i + 5, 65000, 65000)
    put("huge_65000x65000.jpg", bytes(b), "a JPEG whose SOF0 claims 65000x65000 pixels")
    bad = bytearray(png_ok)
    bad[29] ^= 0xFF  # IHDR CRC
    put("bad_ihdr_crc.png", bytes(bad), "a PNG whose IHDR CRC is wrong")
    zero = struct.pack(">IIBBBBB", 0, 20, 8, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + zero + struct.pack(">I", zlib.crc32(b"IHDR" + zero) & 0xFFFFFFFF)
    put("zero_width.png", b"\x89PNG\r\n\x1a\n" + chunk + png_ok[33:], "a PNG whose IHDR says width 0")
    idat = bytearray(png_ok)
    j = idat.find(b"IDAT") + 4
    for k in range(j + 2, min(j + 60, len(idat) - 12)):
        idat[k] ^= 0x5A
    put("corrupt_idat.png", bytes(idat), "a PNG with scrambled zlib data in IDAT")
    with open(os.path.join(CORPUS, "README"), "w") as f:
        f.write("Bad image inputs for tests/cli/image_corpus.sh (fc-eval preprocess must fail cleanly on each).\n"
                "Made by tools/make_image_fixtures.py.\n\n")
        for k in sorted(items):
            f.write(f"{k}: {items[k]}\n")


def main():
    random.seed(0)
    edge = make_edge_images()
    proc, cfg = clip_processor()
    cases = []
    gqa = sorted(glob.glob(os.path.join(GQA, "*.jpg")))
    assert len(gqa) == 66, f"expected 66 GQA images in {GQA}, found {len(gqa)}"
    entries = [("gqa", os.path.basename(p), p) for p in gqa] + [("edge", n, os.path.join(EDGE, n)) for n in edge]
    clip_full = {}
    bg = tuple(int(x * 255) for x in cfg["image_mean"])
    for k, (where, name, path) in enumerate(entries):
        im = Image.open(path).convert("RGB")
        c = {"name": f"{where}:{name}", "w": im.size[0], "h": im.size[1], "crc": crc(np.array(im))}
        out, rsize, resized, crop = clip_reference(proc, cfg, im)
        c["clip"] = {"resize": list(rsize), "resize_crc": crc(resized), "crop_crc": crc(crop)}
        if k in (0, 1) or where == "edge" and name in ("tall_1x37.png", "r_640x480.jpg", "ext_3000x1000.jpg"):
            sq = expand2square(im, bg)
            out2, rs2, _, crop2 = clip_reference(proc, cfg, sq)
            c["clip_pad"] = {"resize": list(rs2), "crop_crc": crc(crop2)}
        if k == 0:
            clip_full["clip." + name] = out.astype(np.float32)
        grid, pieces = minicpm_slices(im)
        c["minicpmv"] = {"grid": grid or [0, 0],
                         "pieces": [[p.size[0], p.size[1], crc(np.array(p))] for p in pieces]}
        cases.append(c)
    # Pillow's resize on sizes that exercise both pass orders (up/down per axis, same-size axes)
    resize_sweep = []
    rr = random.Random(99)
    for src in ("small_30x20.png", "rgba.png"):
        im = Image.open(os.path.join(EDGE, src)).convert("RGB")
        for _ in range(40):
            w = rr.choice([im.size[0], rr.randint(1, 3 * im.size[0])])
            h = rr.choice([im.size[1], rr.randint(1, 3 * im.size[1])])
            # Pillow < 12.2's order (horizontal pass first, 8-bit intermediate) composed from two one-axis resizes
            hfirst = im.resize((w, im.size[1]), Image.BICUBIC).resize((w, h), Image.BICUBIC)
            resize_sweep.append({"src": "edge:" + src, "w": w, "h": h, "crc": crc(np.array(im.resize((w, h), Image.BICUBIC))),
                                 "crc_hfirst": crc(np.array(hfirst))})
    # the shortest prefix of a file that Pillow still opens (all longer ones open too)
    truncation = []
    for name in ("small_30x20.png", "grey_L.jpg", "progressive.jpg", "h2v1_422.jpg", "palette.png",
                 "interlaced_rgb.png", "interlaced_grey16.png"):
        data = open(os.path.join(EDGE, name), "rb").read()
        ok = []
        for n in range(len(data) + 1):
            try:
                Image.open(io.BytesIO(data[:n])).convert("RGB")
                ok.append(n)
            except Exception:
                pass
        assert ok and ok == list(range(ok[0], len(data) + 1)), f"{name}: Pillow's accepted prefixes are not contiguous"
        t = {"file": "edge:" + name, "size": len(data), "min_ok": ok[0]}
        truncation.append(t)
    versions = {"pillow": PIL.__version__, "transformers": transformers.__version__, "numpy": np.__version__,
                "libjpeg_turbo": features.version("libjpeg_turbo"), "python": sys.version.split()[0]}
    with open(os.path.join(OUT, "cases.json"), "w") as f:
        json.dump({"versions": versions, "cases": cases, "resize_sweep": resize_sweep, "truncation": truncation}, f,
                  indent=0)

    # normalisation tables from the real processor: a 336x336 image with every byte value in each channel
    ramp = (np.arange(336 * 336) % 256).astype(np.uint8).reshape(336, 336)
    img = np.stack([ramp, np.roll(ramp, 85), np.roll(ramp, 170)], -1)
    out = proc(Image.fromarray(img), return_tensors="np", input_data_format="channels_last")["pixel_values"][0]
    lut = np.zeros((3, 256), np.float32)
    for c in range(3):
        vals = img[:, :, c].reshape(-1)
        idx = np.array([np.argmax(vals == v) for v in range(256)])
        lut[c] = out[c].reshape(-1)[idx]
    mlut = minicpm_normalize(np.stack([np.arange(256, dtype=np.uint8)] * 3, -1)).T
    tensors = {k: np.ascontiguousarray(v, dtype=np.float32)
               for k, v in {"clip_lut": lut, "minicpmv_lut": mlut, **clip_full}.items()}
    save_file(tensors, os.path.join(OUT, "norm.safetensors"), metadata={k: str(v) for k, v in versions.items()})
    os.chmod(os.path.join(OUT, "norm.safetensors"), 0o644)

    # grid sweep
    rng = random.Random(1234)
    sizes = [(224, 224), (336, 336), (448, 448), (640, 480), (800, 600), (1024, 768), (1280, 720), (1920, 1080),
             (1344, 1344), (4032, 3024), (3000, 1000), (1, 1), (1, 500), (500, 1), (449, 448), (897, 224)]
    while len(sizes) < 216:
        kind = rng.random()
        if kind < 0.6:
            sizes.append((rng.randint(1, 2500), rng.randint(1, 2500)))
        elif kind < 0.8:
            sizes.append((rng.randint(1, 6000), rng.randint(1, 300)))
        else:
            sizes.append((rng.randint(1, 300), rng.randint(1, 6000)))
    sweep = []
    for w, h in sizes:
        grid = get_sliced_grid((w, h))
        if grid is None:
            sweep.append({"w": w, "h": h, "grid": [0, 0], "overview": list(find_best_resize((w, h), True)),
                          "refine": [0, 0]})
        else:
            sweep.append({"w": w, "h": h, "grid": grid, "overview": list(find_best_resize((w, h))),
                          "refine": list(get_refine_size((w, h), grid))})
    with open(os.path.join(OUT, "grid_sweep.json"), "w") as f:
        json.dump({"versions": versions, "sweep": sweep}, f, indent=0)
    with open(os.path.join(OUT, "VERSIONS"), "w") as f:
        for k, v in versions.items():
            f.write(f"{k} {v}\n")
    make_corpus()
    print(f"image fixtures: {len(cases)} images, {len(sweep)} grid sizes -> {OUT}")


if __name__ == "__main__":
    main()
