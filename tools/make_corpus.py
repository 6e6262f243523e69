#!/usr/bin/env python3
"""make_corpus.py: the safetensors part of the bad-input corpus, tests/corpus/safetensors/.

Each case is one small file (or folder) that is wrong in exactly one way, derived from a good file
written by the Python `safetensors` library; tests/corpus/README.md says what is wrong with each, and
tests/cli/corpus.sh checks that `fc-eval inspect` refuses it with the right message. The fuzzer uses
these files as seeds too. Deterministic: fixed bytes, no randomness.
(config/ and yaml/ under tests/corpus/ belong to the config and YAML readers and are made elsewhere.)
"""
import json
import os
import shutil
import struct
import sys

import numpy as np
import safetensors
from safetensors.numpy import save

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "corpus", "safetensors")


def good_tensors():
    return {
        "model.norm.weight": np.arange(4, dtype=np.float32),
        "lm_head.weight": np.arange(6, dtype=np.float16).reshape(2, 3),
    }


def raw(header, data_len, length=None):
    """8-byte length + header text + data_len zero bytes; `length` overrides the length field."""
    h = header.encode("utf-8") if isinstance(header, str) else header
    return struct.pack("<Q", len(h) if length is None else length) + h + bytes(data_len)


T = '"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}'

CASES = {
    # name: bytes
    "truncated.safetensors": None,  # filled in main() from a good file
    "header_len_too_big.safetensors": raw("{" + T + "}", 8, length=4096),
    "header_len_absurd.safetensors": raw("{" + T + "}", 8, length=1 << 63),
    "offsets_out_of_range.safetensors": raw('{"t":{"dtype":"F32","shape":[2],"data_offsets":[64,72]}}', 8),
    "overlap.safetensors": raw('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                               '"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}', 12),
    "unknown_dtype.safetensors": raw('{"t":{"dtype":"F128","shape":[2],"data_offsets":[0,8]}}', 8),
    "shape_mismatch.safetensors": raw('{"lm_head.weight":{"dtype":"F16","shape":[32000,4096],'
                                      '"data_offsets":[0,100]}}', 100),
    "negative_dim.safetensors": raw('{"t":{"dtype":"F32","shape":[2,-1],"data_offsets":[0,8]}}', 8),
    "invalid_json.safetensors": raw('{"t":{"dtype":"F32","shape":[2],"data_offsets":[0,8]', 8),
    "invalid_utf8.safetensors": raw(b'{"t\xff":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', 8),
    "header_not_object.safetensors": raw('[{"dtype":"F32","shape":[2],"data_offsets":[0,8]}]', 8),
    "duplicate_name.safetensors": raw('{"t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
                                      '"t":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', 8),
    "metadata_not_strings.safetensors": raw('{"__metadata__":{"step":100},' + T + '}', 8),
    "empty.safetensors": b"",
    "too_short.safetensors": b"\x10\x00\x00",
}


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def checkpoint(folder, index, shards):
    """A sharded checkpoint: `shards` maps file name -> tensors; `index` is the weight_map."""
    os.makedirs(folder, exist_ok=True)
    for name, tensors in shards.items():
        write(os.path.join(folder, name), save(tensors, metadata={"format": "pt"}))
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 40}, "weight_map": index}, f, indent=2)
        f.write("\n")


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    good = save(good_tensors(), metadata={"format": "pt"})
    CASES["truncated.safetensors"] = good[:-5]  # a download cut off inside the data area
    for name, data in CASES.items():
        write(os.path.join(OUT, name), data)
    s1, s2 = "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"
    a = {"model.norm.weight": np.arange(4, dtype=np.float32)}
    b = {"lm_head.weight": np.arange(6, dtype=np.float16).reshape(2, 3)}
    # shard 2 is named by the index but not there
    checkpoint(os.path.join(OUT, "index_missing_shard"),
               {"lm_head.weight": s2, "model.norm.weight": s1}, {s1: a})
    # the index puts model.embed_tokens.weight in shard 1, which does not hold it
    checkpoint(os.path.join(OUT, "index_absent_tensor"),
               {"lm_head.weight": s2, "model.embed_tokens.weight": s1, "model.norm.weight": s1}, {s1: a, s2: b})
    # a shard path that leaves the checkpoint folder
    checkpoint(os.path.join(OUT, "index_escape"),
               {"lm_head.weight": "../" + s2, "model.norm.weight": s1}, {s1: a})
    # a folder with files, none of them a model
    os.makedirs(os.path.join(OUT, "no_model_files"))
    with open(os.path.join(OUT, "no_model_files", "notes.txt"), "w") as f:
        f.write("this folder holds no model.safetensors and no model.safetensors.index.json\n")
    with open(os.path.join(OUT, "VERSIONS"), "w") as f:
        f.write(f"python {sys.version.split()[0]}\nsafetensors {safetensors.__version__}\nnumpy {np.__version__}\n")


if __name__ == "__main__":
    main()
