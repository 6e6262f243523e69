#!/usr/bin/env python3
"""llm_torch.py: the PyTorch + transformers side of bench/llm.sh. Same measurement as `fc-eval bench-llm`:
one batched prefill of B random prompts of T tokens (no padding: equal lengths), then N decode steps of the
B sequences with the KV cache (greedy), timed separately; prints the same key=value line.

--dtype f32 (default) runs the checkpoint upcast to float32; --dtype native keeps the checkpoint dtype
(bf16 on a CPU with AVX-512 BF16 / AMX goes to oneDNN, torch's fastest CPU path; f16 is far slower there);
--dtype bf16 loads any checkpoint as bfloat16 (an f16 one rounded once, as our --precision bf16 does).
Eager attention, as the reference fixtures use. One untimed pass of the same shape (prefill + one decode
step) comes first, so neither side times its cold first call.
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
    ap.add_argument("--dtype", choices=["f32", "native", "bf16"], default="f32")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    kw = {"attn_implementation": "eager"}
    kw["dtype" if transformers.__version__ >= "4.56" else "torch_dtype"] = {"f32": torch.float32, "native": "auto", "bf16": torch.bfloat16}[a.dtype]
    model = transformers.AutoModelForCausalLM.from_pretrained(a.model, **kw).eval()
    V = model.config.vocab_size
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, V, (a.batch, a.prompt_len), generator=g)
    with torch.inference_mode():
        out = model(input_ids=ids, use_cache=True, logits_to_keep=1)  # warm-up, untimed
        if a.steps:
            model(input_ids=out.logits[:, -1].argmax(-1, keepdim=True), past_key_values=out.past_key_values,
                  use_cache=True)
        del out
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
          f"dtype={next(model.parameters()).dtype} prefill_s={t1 - t0:.4f} decode_s={t2 - t1:.4f} batch={B} prompt_len={T} steps={N}")


if __name__ == "__main__":
    main()
