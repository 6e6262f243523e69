#!/usr/bin/env python3
"""make_safetensors_fixtures.py: files written by the Python `safetensors` library, for
tests/unit/test_safetensors.c to read (and, for writer_ref, to compare our writer's bytes with).

Writes tests/fixtures/safetensors/:
  dtypes.safetensors      one tensor per dtype (F32 F16 BF16 I32 I64 U8 BOOL), a 0-d tensor, an empty
                          tensor, and __metadata__; values are the formulas below, which the C test repeats
  writer_ref.safetensors  what fc_st_writer must reproduce byte for byte (our four dtypes, 0-d, empty,
                          one metadata key: the library orders several keys by hash, not reproducibly)
  sharded/                a 2-shard checkpoint with model.safetensors.index.json, as transformers'
                          save_pretrained lays it out
  VERSIONS                the library versions that made them
Deterministic: no randomness, fixed values.
"""
import json
import os
import sys

import numpy as np
import safetensors
import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "safetensors")


def dtypes_tensors():
    return {
        "f32": (torch.arange(6, dtype=torch.float32) * 0.5 - 1.0).reshape(2, 3),   # -1 + 0.5 i
        "f16": (torch.arange(4, dtype=torch.float32) * 0.25 + 1.0).to(torch.float16),  # 1 + 0.25 i
        "bf16": (torch.arange(3, dtype=torch.float32) * -2.0).to(torch.bfloat16),   # -2 i
        "i32": (torch.arange(4, dtype=torch.int32) * 1000 - 1500).reshape(2, 2),    # 1000 i - 1500
        "i64": torch.tensor([-(2**40), 0, 2**40 + 7], dtype=torch.int64),
        "u8": torch.tensor([0, 1, 127, 128, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, False, True]),
        "scalar": torch.tensor(3.5, dtype=torch.float32),                             # 0-d
        "empty": torch.zeros((0, 3), dtype=torch.float32),                            # 0 elements
    }


def writer_ref_tensors():
    # the same tensors test_safetensors.c hands to fc_st_writer
    return {
        "w.f32": (torch.arange(6, dtype=torch.float32) * 0.5 - 1.0).reshape(2, 3),
        "w.i32": torch.tensor([7, -8, 9], dtype=torch.int32),
        "a.bf16": (torch.arange(4, dtype=torch.float32) * -2.0).to(torch.bfloat16).reshape(2, 2),
        "b.f16": (torch.arange(5, dtype=torch.float32) * 0.25 + 1.0).to(torch.float16),
        "c.f16": torch.tensor([-1.5], dtype=torch.float16),
        "scalar": torch.tensor(3.5, dtype=torch.float32),
        "empty": torch.zeros((0, 3), dtype=torch.float32),
    }


def sharded(out):
    os.makedirs(out, exist_ok=True)
    shard1 = {
        "model.embed_tokens.weight": (torch.arange(8, dtype=torch.float32) * 0.125).reshape(4, 2).to(torch.bfloat16),
        "model.layers.0.mlp.up_proj.weight": torch.arange(6, dtype=torch.float32).reshape(3, 2).to(torch.bfloat16),
    }
    shard2 = {
        "lm_head.weight": (torch.arange(8, dtype=torch.float32) * -1.0).reshape(4, 2).to(torch.bfloat16),
        "model.norm.weight": torch.ones(2, dtype=torch.float32).to(torch.bfloat16),
    }
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    weight_map = {}
    total = 0
    for name, tensors in zip(names, [shard1, shard2]):
        save_file(tensors, os.path.join(out, name), metadata={"format": "pt"})
        for k, v in tensors.items():
            weight_map[k] = name
            total += v.numel() * v.element_size()
    index = {"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(out, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    # The library writes __metadata__ in its hash map's order, which changes from run to run; save until the
    # keys come out sorted so that regenerating gives the same bytes.
    path = os.path.join(OUT, "dtypes.safetensors")
    for _ in range(200):
        save_file(dtypes_tensors(), path, metadata={"format": "pt", "note": "fastcache fixture"})
        with open(path, "rb") as f:
            head = f.read(200)
        if head.find(b'"format"') < head.find(b'"note"'):
            break
    else:
        sys.exit("make_safetensors_fixtures.py: metadata never came out in sorted order")
    save_file(writer_ref_tensors(), os.path.join(OUT, "writer_ref.safetensors"), metadata={"format": "pt"})
    sharded(os.path.join(OUT, "sharded"))
    with open(os.path.join(OUT, "VERSIONS"), "w") as f:
        f.write(f"python {sys.version.split()[0]}\nsafetensors {safetensors.__version__}\n"
                f"torch {torch.__version__}\nnumpy {np.__version__}\n")


if __name__ == "__main__":
    main()
