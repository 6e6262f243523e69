#!/usr/bin/env python3
"""make_seeded_ccm.py OUT.safetensors --layers L --head-dim D [--cf 5] [--hidden D] [--depth 3] [--seed S]

A CCM checkpoint (core/compress/ccm.h layout: ccm.layers.{l}.{ik,iv,tk,tv}.{j}.weight/bias and the
"fastcache-ccm" metadata) with seeded random weights N(0, 1/fan_in), zero biases, for a model of the given
shape. It is NOT trained: it compresses at the right ratio and costs what a trained one costs, so it serves
throughput and memory measurements (fc-eval load on the real-width models of make_realwidth_models.py), never
answer quality. The metadata's "source" says so.
"""
import argparse

import torch
from safetensors.torch import save_file


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--layers", type=int, required=True)
    ap.add_argument("--head-dim", type=int, required=True)
    ap.add_argument("--cf", type=int, default=5)
    ap.add_argument("--hidden", type=int, default=0, help="default: the head dim (FastCache's)")
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--family", default="llava")
    a = ap.parse_args()
    hidden = a.hidden or a.head_dim
    g = torch.Generator().manual_seed(a.seed)
    t = {}
    dims = [a.cf * a.head_dim] + [hidden] * (a.depth - 1) + [a.head_dim]
    for l in range(a.layers):
        for k in ("ik", "iv", "tk", "tv"):
            for j in range(a.depth):
                i, o = dims[j], dims[j + 1]
                t[f"ccm.layers.{l}.{k}.{j}.weight"] = torch.randn(o, i, generator=g) / i ** 0.5
                t[f"ccm.layers.{l}.{k}.{j}.bias"] = torch.zeros(o)
    meta = {"format": "fastcache-ccm", "format_version": "1", "family": a.family, "n_layers": str(a.layers),
            "head_dim": str(a.head_dim), "cf": str(a.cf), "hidden": str(hidden), "depth": str(a.depth),
            "min_windows": "2", "has_image": "1", "segment_rule": "prefix", "position_rule": "compressed",
            "dropout": "0.4", "torch": torch.__version__,
            "source": f"tools/make_seeded_ccm.py: seeded random init (seed {a.seed}), not trained; "
                      "for throughput and memory measurements only"}
    save_file(t, a.out, metadata=meta)
    print(f"{a.out}: {len(t)} tensors, cf {a.cf}, {a.layers} layers x head dim {a.head_dim}")


if __name__ == "__main__":
    main()
