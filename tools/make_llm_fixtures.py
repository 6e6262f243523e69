#!/usr/bin/env python3
"""make_llm_fixtures.py: tiny random Llama / Qwen2 decoders and their reference logits, for tests/unit/test_llm.c.

Writes tests/fixtures/llm/<name>/ with the Hugging Face layout (config.json + model.safetensors from
save_pretrained) and ref.safetensors holding, for a batch of token sequences of mixed lengths:

  seq<i>.ids     i32 [T]        the prompt
  seq<i>.tokens  i32 [N+1]      greedy continuation (token argmax of each logits row from T-1 on)
  seq<i>.logits  f32 [T+N, V]   logits at every prompt position, then after feeding each of the first N
                                greedy tokens (HF generate semantics: row T+k predicts tokens[k+1])
  ovr.*                          one sequence whose input embedding rows [start, start+count) are replaced by
                                 ovr.embeds (the path the VLM code uses for image features)

The reference runs each sequence alone through transformers with attn_implementation="eager" in float32.
For the f16 / bf16 checkpoints the reference is an f32 model holding the 16-bit weights upcast (exactly), so
it computes "these 16-bit weights in f32", which is what the C CPU path does (weights kept in the checkpoint
dtype, converted as used); its rotary inv_freq stays f32, as HF computes it at load time. Deterministic: seeded; versions recorded in
every ref.safetensors' metadata and in VERSIONS.
"""
import json
import os
import shutil
import sys

import numpy as np
import safetensors
import torch
import transformers

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "llm")
N_DECODE = 5

# name, class, config kwargs, checkpoint dtype
MODELS = [
    ("llama_plain", "llama", dict(hidden_size=64, intermediate_size=172, num_hidden_layers=2, num_attention_heads=4,
                                  num_key_value_heads=4, vocab_size=300, rms_norm_eps=1e-5, rope_theta=10000.0,
                                  tie_word_embeddings=False), torch.float32),
    # head_dim 24 set explicitly (H*D = 96 = hidden), GQA 2 q heads per kv head, tied embeddings
    ("llama_gqa_tied", "llama", dict(hidden_size=96, intermediate_size=128, num_hidden_layers=2,
                                     num_attention_heads=4, num_key_value_heads=2, head_dim=24, vocab_size=280,
                                     rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True),
     torch.float32),
    # odd width 168, 14 q heads of 24 over 2 kv heads (7 per kv head, H*D = 336 != hidden), q/k/v bias
    ("qwen2_odd", "qwen2", dict(hidden_size=168, intermediate_size=96, num_hidden_layers=2, num_attention_heads=14,
                                num_key_value_heads=2, head_dim=24, vocab_size=200, rms_norm_eps=1e-6,
                                rope_theta=1000000.0, tie_word_embeddings=False), torch.float32),
    ("llama_f16", "llama", dict(hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4,
                                num_key_value_heads=2, vocab_size=256, rms_norm_eps=1e-5, rope_theta=10000.0,
                                tie_word_embeddings=False), torch.float16),
    ("qwen2_bf16", "qwen2", dict(hidden_size=112, intermediate_size=192, num_hidden_layers=2, num_attention_heads=7,
                                 num_key_value_heads=1, vocab_size=288, rms_norm_eps=1e-6, rope_theta=1000000.0,
                                 tie_word_embeddings=False), torch.bfloat16),
]
SEQ_LENS = [7, 13, 1, 20]


def make_model(kind, kw, dtype, seed):
    torch.manual_seed(seed)
    if kind == "llama":
        cfg = transformers.LlamaConfig(**kw, max_position_embeddings=256, bos_token_id=1, eos_token_id=2)
        cfg._attn_implementation = "eager"
        model = transformers.LlamaForCausalLM(cfg)
    else:
        cfg = transformers.Qwen2Config(**kw, max_position_embeddings=256, bos_token_id=1, eos_token_id=2,
                                       use_sliding_window=False)
        cfg._attn_implementation = "eager"
        model = transformers.Qwen2ForCausalLM(cfg)
    # larger-than-default init so logits are O(1) and position/attention errors are visible
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn_like(p))
            else:
                p.copy_(torch.randn_like(p) / (p.shape[-1] ** 0.5))
    model = model.to(dtype)
    return model


def save_sorted(tensors, path, metadata):
    """safetensors with a byte-stable header: the library's Rust writer orders __metadata__ by hash (it
    changes from run to run), so the file is written here with sorted keys, in the same format."""
    names = {torch.float32: "F32", torch.int32: "I32"}
    header, blobs, off = {"__metadata__": dict(sorted(metadata.items()))}, [], 0
    for k in sorted(tensors):
        t = tensors[k].contiguous()
        b = t.numpy().tobytes()
        header[k] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little") + h + b"".join(blobs))


def reference(model, ids, embeds_override=None, start=0):
    """Prefill `ids` alone, then N_DECODE greedy steps; returns logits [T+N, V] and tokens [N+1]."""
    x = torch.tensor([ids])
    with torch.no_grad():
        if embeds_override is None:
            out = model(input_ids=x, use_cache=True)
        else:
            emb = model.get_input_embeddings()(x).clone()
            emb[0, start:start + embeds_override.shape[0]] = embeds_override
            out = model(inputs_embeds=emb, use_cache=True)
        rows = [out.logits[0]]
        past = out.past_key_values
        tok = int(out.logits[0, -1].argmax())
        tokens = [tok]
        for _ in range(N_DECODE):
            out = model(input_ids=torch.tensor([[tok]]), past_key_values=past, use_cache=True)
            past = out.past_key_values
            rows.append(out.logits[0])
            tok = int(out.logits[0, -1].argmax())
            tokens.append(tok)
    return torch.cat(rows, 0).float().contiguous(), torch.tensor(tokens, dtype=torch.int32)


def main():
    torch.set_num_threads(1)  # bit-identical reference logits from run to run (reduction order)
    versions = {"torch": torch.__version__, "transformers": transformers.__version__,
                "safetensors": safetensors.__version__, "numpy": np.__version__,
                "python": sys.version.split()[0]}
    os.makedirs(OUT, exist_ok=True)
    for mi, (name, kind, kw, dtype) in enumerate(MODELS):
        model = make_model(kind, kw, dtype, seed=1000 + mi)
        d = os.path.join(OUT, name)
        shutil.rmtree(d, ignore_errors=True)
        model.save_pretrained(d, safe_serialization=True)
        for extra in ("generation_config.json",):
            p = os.path.join(d, extra)
            if os.path.exists(p):
                os.remove(p)
        # A fresh f32 model given the upcast weights: model.to(f16) also rounds the rotary inv_freq buffer, which
        # .float() would not undo; HF computes inv_freq in f32 at load time, and so do we.
        ref_model = make_model(kind, kw, torch.float32, seed=0)
        ref_model.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
        assert ref_model.config._attn_implementation == "eager"
        ref_model.eval()
        g = torch.Generator().manual_seed(2000 + mi)
        V = kw["vocab_size"]
        tensors = {}
        for si, T in enumerate(SEQ_LENS):
            ids = torch.randint(3, V, (T,), generator=g).tolist()
            logits, tokens = reference(ref_model, ids)
            tensors[f"seq{si}.ids"] = torch.tensor(ids, dtype=torch.int32)
            tensors[f"seq{si}.tokens"] = tokens
            tensors[f"seq{si}.logits"] = logits
        # embedding override: rows 2..5 of a 9-token prompt replaced by random vectors
        ids = torch.randint(3, V, (9,), generator=g).tolist()
        emb = torch.randn(4, kw["hidden_size"], generator=g)
        logits, tokens = reference(ref_model, ids, emb, start=2)
        tensors["ovr.ids"] = torch.tensor(ids, dtype=torch.int32)
        tensors["ovr.start"] = torch.tensor([2], dtype=torch.int32)
        tensors["ovr.embeds"] = emb.contiguous()
        tensors["ovr.tokens"] = tokens
        tensors["ovr.logits"] = logits
        # for tests/cli/llm.sh: seq0's prompt and greedy tokens, and the greedy continuation of [87, 28, 16]
        # (the Qwen2 tokenizer's ids of "x=1", all inside the tiny vocabularies) as plain text
        with open(os.path.join(d, "cli.txt"), "w") as f:
            f.write("ids " + ",".join(map(str, tensors["seq0.ids"].tolist())) + "\n")
            f.write("tokens " + ",".join(map(str, tensors["seq0.tokens"].tolist())) + "\n")
            _, xt = reference(ref_model, [87, 28, 16])
            f.write("x=1 " + ",".join(map(str, xt.tolist())) + "\n")
        meta = {"model": name, "checkpoint_dtype": str(dtype).replace("torch.", ""),
                "reference": "transformers eager attention, float32 compute (16-bit weights upcast exactly)",
                "n_decode": str(N_DECODE), "seq_lens": ",".join(map(str, SEQ_LENS))}
        meta.update({f"version.{k}": v for k, v in versions.items()})
        save_sorted(tensors, os.path.join(d, "ref.safetensors"), meta)
        print(f"{name}: {kind} {dtype}, {sum(p.numel() for p in model.parameters())} params")
    with open(os.path.join(OUT, "VERSIONS"), "w") as f:
        f.write("made by tools/make_llm_fixtures.py\n")
        for k, v in versions.items():
            f.write(f"{k} {v}\n")


if __name__ == "__main__":
    main()
