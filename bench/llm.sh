#!/usr/bin/env bash
# llm.sh: decoder throughput, ours (`fc-eval bench-llm`) vs PyTorch + transformers (bench/llm_torch.py), same
# folder, same prompt length, batch and steps, same thread count (OMP/OpenBLAS threads = torch.set_num_threads).
#   tiny:   tests/fixtures/llm/qwen2_odd (f32, 2 layers, hidden 168)
#   vicuna: Vicuna-7B width (LLaVA-1.5's decoder), 2 layers, f16 weights, random
#   qwen2:  Qwen2-7B width (MiniCPM-V-2.6's decoder), 2 layers, bf16 weights, random
# Real-width folders come from tools/make_realwidth_models.py in $BUILD/realwidth (~4.4 GB, kept for reruns).
# For each: prefill tokens/s (batch 1, T tokens) and decode tokens/s (batch 1 and 8); ratio = ours / torch
# (> 1: we are faster). Torch runs the weights upcast to f32 (its fast CPU path) unless TORCH_DTYPE=native.
# Each figure is the best of REPS runs (default 2), ours and torch alternating.
# Env: THREADS (default: all cores), T (default 600), N (decode steps, default 16), MODELS (default
# "tiny vicuna qwen2"), BIN, BUILD, PYTHON, SHARED.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin} BUILD=${BUILD:-build} PYTHON=${PYTHON:-python3} SHARED=${SHARED:-../shared}
THREADS=${THREADS:-$(nproc)} T=${T:-600} N=${N:-16} MODELS=${MODELS:-tiny vicuna qwen2} REPS=${REPS:-2}
TORCH_DTYPE=${TORCH_DTYPE:-f32}
[ -x "$BIN/fc-eval" ] || { echo "llm: $BIN/fc-eval missing (run make first)"; exit 1; }
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS SHARED
case " $MODELS " in *" vicuna "*|*" qwen2 "*) "$PYTHON" tools/make_realwidth_models.py "$BUILD/realwidth" ;; esac

val() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
row() { # name what ours torch
  awk -v n="$1" -v w="$2" -v a="$3" -v b="$4" -v t="$THREADS" \
    'BEGIN { printf "llm %-7s %-16s ours %10.2f tok/s  torch %10.2f tok/s  ratio %5.2fx (%d threads)\n", n, w, a, b, a / b, t }'
}
for name in $MODELS; do
  case $name in
    tiny) dir=tests/fixtures/llm/qwen2_odd ;;
    vicuna) dir=$BUILD/realwidth/vicuna7b-2l ;;
    qwen2) dir=$BUILD/realwidth/qwen2-7b-2l ;;
    *) echo "llm: unknown model '$name'"; exit 1 ;;
  esac
  # prefill: batch 1, T tokens, no decode; decode: a 64-token prompt, then N steps at batch 1 and 8
  for spec in "1 $T 0 prefill" "1 64 $N decode_b1" "8 64 $N decode_b8"; do
    set -- $spec
    key=prefill_tok_s; [ "$4" = prefill ] || key=decode_tok_s
    # best of REPS runs, the two sides alternating, so a busy moment of a shared machine hits both alike
    best_o=0 best_t=0
    for r in $(seq "$REPS"); do
      o=$(val "$("$BIN/fc-eval" bench-llm --model "$dir" --batch "$1" --prompt-len "$2" --steps "$3")" $key)
      p=$(val "$("$PYTHON" bench/llm_torch.py --model "$dir" --batch "$1" --prompt-len "$2" --steps "$3" \
        --threads "$THREADS" --dtype "$TORCH_DTYPE")" $key)
      best_o=$(awk -v a="$best_o" -v b="$o" 'BEGIN { print (b > a ? b : a) }')
      best_t=$(awk -v a="$best_t" -v b="$p" 'BEGIN { print (b > a ? b : a) }')
    done
    what="$4"; [ "$4" = prefill ] && what="prefill T=$T"
    row "$name" "$what" "$best_o" "$best_t"
  done
done
