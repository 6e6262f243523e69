"""gpu_torch.py: the PyTorch + transformers peer of bench/gpu_bench.c on the same GPU (bench/gpu.sh runs
both): the HF LlamaForCausalLM / Qwen2ForCausalLM with the same real-size config, random bf16 weights made
on the GPU, SDPA attention, a DynamicCache. Prefill: batch 1, --prompt tokens, logits of the last token only
(logits_to_keep=1, as ours). Decode: for each batch, the cache first filled with --ctx tokens per sequence
(untimed), one untimed step, then --steps timed single-token steps. Appends rows to --csv in gpu_bench's
format (side "torch") and prints the same key=value lines."""
import argparse
import time

import torch
import transformers

CFGS = {
    "vicuna7b": dict(cls="LlamaConfig", hidden_size=4096, intermediate_size=11008, num_attention_heads=32,
                     num_key_value_heads=32, num_hidden_layers=32, vocab_size=32000, rope_theta=1e4,
                     rms_norm_eps=1e-5),
    "qwen2-7b": dict(cls="Qwen2Config", hidden_size=3584, intermediate_size=18944, num_attention_heads=28,
                     num_key_value_heads=4, num_hidden_layers=28, vocab_size=152064, rope_theta=1e6,
                     rms_norm_eps=1e-6),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model", choices=sorted(CFGS))
    ap.add_argument("--layers", type=int)
    ap.add_argument("--prompt", type=int, default=1024)
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--steps", type=int, default=32)
    ap.add_argument("--batches", default="1,16,64")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--csv")
    ap.add_argument("--device", default="unknown")
    a = ap.parse_args()
    spec = dict(CFGS[a.model])
    cfg = getattr(transformers, spec.pop("cls"))(**spec, max_position_embeddings=max(4096, a.prompt + a.ctx + a.steps + 8),
                                                  tie_word_embeddings=False, use_cache=True)
    if a.layers:
        cfg.num_hidden_layers = a.layers
    t0 = time.perf_counter()
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = transformers.AutoModelForCausalLM.from_config(cfg, attn_implementation="sdpa", torch_dtype=torch.bfloat16)
    model.eval()
    torch.cuda.synchronize()
    n_emb = model.get_input_embeddings().weight.numel()
    weight_bytes = 2 * (sum(p.numel() for p in model.parameters()) - n_emb)
    print(f"model={a.model} layers={cfg.num_hidden_layers} torch={torch.__version__} transformers={transformers.__version__} "
          f"weights_gb={weight_bytes / 1e9:.2f} setup_s={time.perf_counter() - t0:.1f}")
    print(f"device: {torch.cuda.get_device_name(0)}")
    csv = open(a.csv, "a") if a.csv else None
    V = cfg.vocab_size
    gen = torch.Generator(device="cuda").manual_seed(1)

    def emit(what, batch, tokens, ctx, times, tok_s, rate_name, rate):
        times = sorted(times)
        best, med = times[0], times[len(times) // 2]
        print(f"{what} batch={batch} tokens={tokens} ctx={ctx} best_s={best:.6f} median_s={med:.6f} tok_s={tok_s:.1f} "
              f"{rate_name}={rate:.1f}")
        if csv:
            csv.write(f"{a.device},{a.model},{cfg.num_hidden_layers},torch,{what},{batch},{tokens},{ctx},{best:.6f},"
                      f"{med:.6f},{tok_s:.1f},{rate_name},{rate:.1f}\n")
            csv.flush()

    with torch.inference_mode():
        ids = torch.randint(0, V, (1, a.prompt), device="cuda", generator=gen)
        model(input_ids=ids, use_cache=False, logits_to_keep=1)
        torch.cuda.synchronize()
        times = []
        for _ in range(a.reps):
            s = time.perf_counter()
            model(input_ids=ids, use_cache=False, logits_to_keep=1)
            torch.cuda.synchronize()
            times.append(time.perf_counter() - s)
        emit("prefill", 1, a.prompt, 0, times, a.prompt / min(times), "gemm_tflops",
             weight_bytes * a.prompt / min(times) / 1e12)
        for B in [int(x) for x in a.batches.split(",") if x]:
            cache = transformers.DynamicCache()
            ctx_ids = torch.randint(0, V, (B, a.ctx), device="cuda", generator=gen)
            out = model(input_ids=ctx_ids, past_key_values=cache, use_cache=True, logits_to_keep=1)
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            out = model(input_ids=nxt, past_key_values=cache, use_cache=True, logits_to_keep=1)
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
            torch.cuda.synchronize()
            times = []
            for _ in range(a.steps):
                s = time.perf_counter()
                out = model(input_ids=nxt, past_key_values=cache, use_cache=True, logits_to_keep=1)
                nxt = out.logits[:, -1].argmax(-1, keepdim=True)
                torch.cuda.synchronize()
                times.append(time.perf_counter() - s)
            total = sum(times)
            emit("decode", B, a.steps, a.ctx, times, B * a.steps / total, "weight_gb_s",
                 weight_bytes / (total / a.steps) / 1e9)
            del cache, out
            torch.cuda.empty_cache()
    if csv:
        csv.close()


if __name__ == "__main__":
    main()
