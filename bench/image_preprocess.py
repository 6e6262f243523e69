"""image_preprocess.py: the Python peer of bench/image_preprocess.c, same files, same output sum.
   python image_preprocess.py llava|minicpmv MODEL_DIR REPS FILE...
LLaVA: Pillow open + convert("RGB") + transformers CLIPImageProcessor(use_fast=False) from the folder's
preprocessor_config.json. MiniCPM-V: Pillow + the slicing of tools/make_image_fixtures.py (the reference
logic of image_processing_minicpmv.py, which is remote code) + numpy normalisation.
Prints "<seconds per image, best pass> <sum of all output values of one pass>"."""
import json
import os
import sys
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))


def main():
    kind, model, reps, files = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
    if kind == "llava":
        from transformers import CLIPImageProcessor
        with open(os.path.join(model, "preprocessor_config.json")) as f:
            cfg = json.load(f)
        proc = CLIPImageProcessor(**{k: v for k, v in cfg.items() if k not in ("processor_class", "image_processor_type")})

        def run(p):
            im = Image.open(p).convert("RGB")
            return [proc(im, return_tensors="np")["pixel_values"]]
    else:
        from make_image_fixtures import minicpm_normalize, minicpm_slices

        def run(p):
            im = Image.open(p).convert("RGB")
            _, pieces = minicpm_slices(im)
            return [minicpm_normalize(np.array(x)) for x in pieces]
    best, total = 1e30, 0.0
    for _ in range(reps):
        s, t0 = 0.0, time.perf_counter()
        for p in files:
            for a in run(p):
                s += float(a.astype(np.float64).sum())
        best = min(best, (time.perf_counter() - t0) / len(files))
        total = s
    print(f"{best:.6f} {total:.6e}")


if __name__ == "__main__":
    main()
