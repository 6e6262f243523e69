#!/usr/bin/env bash
# gpu.sh: decoder throughput on the GPU, ours (bench/gpu_bench.c: our CUDA ops, the model resident in
# device memory, a paged KV pool) against PyTorch + transformers (bench/gpu_torch.py: the HF model with
# SDPA attention and a DynamicCache) on the same GPU, in the same run, one after the other (never both in
# memory). Real-size Vicuna-7B (LLaVA-1.5's decoder) and Qwen2-7B (MiniCPM-V-2.6's) configs, random bf16
# weights made here (nothing downloaded or shipped). For each model:
#   0. gpu_bench tiny --check: the same small random model on the CPU (f32 reference ops) and the GPU
#      (bf16): logits of a prefill and 3 decode steps compared, and decode vs one prefill on each side;
#   1. prefill: batch 1, $PROMPT tokens (default 1024), tokens/s (best of 3 after a warm-up) and the
#      GEMM TFLOP/s that implies;
#   2. decode: batch 1, 16, 64 ($BATCHES), $STEPS single-token steps (default 32) with $CTX entries
#      (default 512) already cached per sequence: tokens/s and, at batch 1, the weight bytes read per second
#      (the issue's target: a step within 1.3x the time to read the weights once from HBM).
# The torch side runs when $PYTHON imports torch (with CUDA) and transformers; otherwise it is reported as
# skipped with the reason. Env: MODELS (default "vicuna7b qwen2-7b"), LAYERS (default: the model's own
# 32 / 28; fewer for a quick run), PROMPT, CTX, STEPS, BATCHES, OUT (results folder, default
# bench/results/gpu-manual), DEVICE (the name written in the CSV; default from nvidia-smi), BUILD, PYTHON.
# Writes $OUT/gpu_bench.csv (device, model, layers, side, what, batch, tokens, ctx, best_s, median_s,
# tok_s, rate name, rate) and prints a summary with ours/torch ratios.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build} PYTHON=${PYTHON:-python3} OUT=${OUT:-bench/results/gpu-manual}
MODELS=${MODELS:-vicuna7b qwen2-7b} PROMPT=${PROMPT:-1024} CTX=${CTX:-512} STEPS=${STEPS:-32} BATCHES=${BATCHES:-1,16,64}
DEVICE=${DEVICE:-$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)}
DEVICE=${DEVICE:-unknown}
mkdir -p "$OUT" "$BUILD/bench"
[ -f "$BUILD/libfastcache.a" ] || { echo "gpu: $BUILD/libfastcache.a missing (run make CUDA=1 first)"; exit 1; }
DNNL_LIB=$([ -f /usr/include/oneapi/dnnl/dnnl.h ] && echo -ldnnl || true)
exe=$BUILD/bench/gpu_bench
${CC:-cc} -std=c11 -D_GNU_SOURCE -I. -Wall -Wextra -Werror -O2 -fopenmp -o "$exe" bench/gpu_bench.c \
  "$BUILD/libfastcache.a" -Wl,--dynamic-list=kernels/cuda/host-symbols.list -lopenblas -lcjson -lyaml -lpcre2-8 \
  -ljpeg -lpng -lm -lpthread -ldl $DNNL_LIB || { echo "gpu: building $exe failed"; exit 1; }
csv=$OUT/gpu_bench.csv
[ -f "$csv" ] || echo "device,model,layers,side,what,batch,tokens,ctx,best_s,median_s,tok_s,rate,rate_value" >"$csv"
echo "gpu: device $DEVICE; prompt $PROMPT, ctx $CTX, steps $STEPS, batches $BATCHES; results $OUT"
rc=0

echo "== check: tiny model, GPU (bf16) against the CPU reference"
"$exe" tiny --check | tee "$OUT/check.txt" || rc=1

torch_ok=1
why=$("$PYTHON" -c 'import torch, transformers
assert torch.cuda.is_available(), "torch %s sees no CUDA device" % torch.__version__' 2>&1) || torch_ok=0
[ "$torch_ok" = 1 ] || echo "torch: skipped: $PYTHON cannot run the peer: $(echo "$why" | tail -n 1)"

for model in $MODELS; do
  lay=()
  [ -n "${LAYERS:-}" ] && lay=(--layers "$LAYERS")
  echo "== ours: $model"
  "$exe" "$model" "${lay[@]}" --prompt "$PROMPT" --ctx "$CTX" --steps "$STEPS" --batches "$BATCHES" --csv "$csv" \
    --device "$DEVICE" 2>&1 | tee "$OUT/ours-$model.txt" || rc=1
  if [ "$torch_ok" = 1 ]; then
    echo "== torch: $model"
    "$PYTHON" bench/gpu_torch.py "$model" "${lay[@]}" --prompt "$PROMPT" --ctx "$CTX" --steps "$STEPS" \
      --batches "$BATCHES" --csv "$csv" --device "$DEVICE" 2>&1 | tee "$OUT/torch-$model.txt" || rc=1
  fi
done

echo "== summary ($DEVICE)"
printf '  %-9s %-8s %5s %12s %12s %8s  %s\n' model what batch "ours tok/s" "torch tok/s" ratio "ours rate"
awk -F, 'NR > 1 { k = $2 "|" $5 "|" $6; v[k "|" $4] = $11; r[k "|" $4] = $12 "=" $13; keys[k] = 1 }
  END { for (k in keys) { split(k, a, "|"); o = v[k "|ours"]; t = v[k "|torch"];
          printf "  %-9s %-8s %5s %12s %12s %8s  %s\n", a[1], a[2], a[3], o, (t == "" ? "-" : t),
                 (t == "" || t == 0 ? "-" : sprintf("%.2fx", o / t)), r[k "|ours"] } }' "$csv" | sort -k1,1 -k2,2 -k3,3n
exit $rc
