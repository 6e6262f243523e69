#!/usr/bin/env python3
"""llm_torch.py: the PyTorch + transformers side of bench/llm.sh. Same measurement as `fc-eval bench-llm`:
one batched prefill of B random prompts of T tokens (no padding: equal lengths), then N decode steps of the
B sequences with the KV cache (greedy), timed separately; prints the same key=value line.

--dtype f32 (default) runs the checkpoint upcast to float32, torch's fast CPU path (its f16 CPU matmuls are
far slower); --dtype native keeps the checkpoint dtype. Eager attention, as the reference fixtures use.
"""
import argparse
import time

import torch
import transformers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--prompt-len", type=int, default=128)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dtype", choices=["f32", "native"], default="f32")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    kw = {"attn_implementation": "eager"}
    kw["dtype" if transformers.__version__ >= "4.56" else "torch_dtype"] = torch.float32 if a.dtype == "f32" else "auto"
    model = transformers.AutoModelForCausalLM.from_pretrained(a.model, **kw).eval()
    V = model.config.vocab_size
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, V, (a.batch, a.prompt_len), generator=g)
    with torch.inference_mode():
        t0 = time.perf_counter()
        out = model(input_ids=ids, use_cache=True, logits_to_keep=1)
        t1 = time.perf_counter()
        past = out.past_key_values
        tok = out.logits[:, -1].argmax(-1, keepdim=True)
        for _ in range(a.steps):
            out = model(input_ids=tok, past_key_values=past, use_cache=True)
            past = out.past_key_values
            tok = out.logits[:, -1].argmax(-1, keepdim=True)
        t2 = time.perf_counter()
    B, T, N = a.batch, a.prompt_len, a.steps
    print(f"prefill_tok_s={B * T / (t1 - t0):.2f} decode_tok_s={(B * N / (t2 - t1)) if N else 0:.2f} "
          f"prefill_s={t1 - t0:.4f} decode_s={t2 - t1:.4f} batch={B} prompt_len={T} steps={N}")


if __name__ == "__main__":
    main()
