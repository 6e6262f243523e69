#!/usr/bin/env bash
# train_step.sh: one fc-train optimizer step (teacher prefill + teacher-forced answer, CCM compression of every
# layer, student forward and backward into the CCM weights, KL loss, Adam), ours (bench/train_step.c on the
# library) vs PyTorch + transformers (bench/train_step.py, the same step written as a torch user would), on
#   tiny:   tests/fixtures/llm/qwen2_odd (f32, 2 layers, hidden 168): P=160 prompt tokens, image span [5, 133)
#   vicuna: Vicuna-7B width (LLaVA-1.5's decoder), 2 layers, f16: P=600, image span [5, 581) (576 rows)
#   qwen2:  Qwen2-7B width (MiniCPM-V-2.6's decoder), 2 layers, bf16: P=600, one segment (MiniCPM's rule)
# with an answer of T tokens (default 64; 32 for tiny), same thread count. Real-width folders come from
# tools/make_realwidth_models.py in $BUILD/realwidth. Prints per model the best step time of REPS steps
# after a warm-up, its parts, the ratio torch/ours (> 1: ours is faster) and the peak RSS of each process
# (torch holds the weights upcast to f32; ours maps the checkpoint and converts as it goes).
# Env: THREADS (default: all cores), T, REPS (default 3), MODELS (default "tiny vicuna qwen2"), BUILD, PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build} PYTHON=${PYTHON:-python3} SHARED=${SHARED:-../shared}
THREADS=${THREADS:-$(nproc)} T=${T:-64} REPS=${REPS:-3} MODELS=${MODELS:-tiny vicuna qwen2}
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS SHARED
[ -f "$BUILD/libfastcache.a" ] || { echo "train_step: $BUILD/libfastcache.a missing (run make first)"; exit 1; }
mkdir -p "$BUILD/bench"
exe=$BUILD/bench/train_step
${CC:-cc} -std=c11 -D_GNU_SOURCE -I. -O2 -march=native -fopenmp -o "$exe" bench/train_step.c "$BUILD/libfastcache.a" \
  -lopenblas -lcjson -lyaml -lpcre2-8 -ljpeg -lpng -lm -lpthread  # the CUDA backend is dlopen'd: nothing to link
case " $MODELS " in *" vicuna "*|*" qwen2 "*) "$PYTHON" tools/make_realwidth_models.py "$BUILD/realwidth" ;; esac
val() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
for name in $MODELS; do
  case $name in
    tiny) dir=tests/fixtures/llm/qwen2_odd; args="160 32 5 128" ;;
    vicuna) dir=$BUILD/realwidth/vicuna7b-2l; args="600 $T 5 576" ;;
    qwen2) dir=$BUILD/realwidth/qwen2-7b-2l; args="600 $T 0 0" ;;
    *) echo "train_step: unknown model '$name'"; exit 1 ;;
  esac
  o=$("$exe" "$dir" $args "$REPS")
  p=$("$PYTHON" bench/train_step.py "$dir" $args "$REPS" --threads "$THREADS")
  echo "train_step $name (P T img_start img_len = $args, $THREADS threads, best of $REPS)"
  echo "  ours:  $o"
  echo "  torch: $p"
  awk -v n="$name" -v a="$(val "$o" step_s)" -v b="$(val "$p" step_s)" -v ma="$(val "$o" peak_rss_mb)" \
    -v mb="$(val "$p" peak_rss_mb)" 'BEGIN { printf "train_step %-7s ours %.4fs torch %.4fs ratio %.2fx faster; peak RSS ours %.0f MB torch %.0f MB (%.2fx less)\n", n, a, b, b / a, ma, mb, mb / ma }'
done
