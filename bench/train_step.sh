#!/usr/bin/env bash
# train_step.sh: one fc-train optimizer step (teacher prefill + teacher-forced answer, CCM compression of every
# layer, student forward and backward into the CCM weights, KL loss, Adam), ours (bench/train_step.c on the
# library) vs PyTorch + transformers (bench/train_step.py, the same step written as a torch user would), on
#   tiny:   tests/fixtures/llm/qwen2_odd (f32, 2 layers, hidden 168): P=160 prompt tokens, image span [5, 133)
#   vicuna: Vicuna-7B width (LLaVA-1.5's decoder), 2 layers, f16: P=600, image span [5, 581) (576 rows)
#   qwen2:  Qwen2-7B width (MiniCPM-V-2.6's decoder), 2 layers, bf16: P=600, one segment (MiniCPM's rule)
# with an answer of T tokens (default 64; 32 for tiny), same thread count. Real-width folders come from
# tools/make_realwidth_models.py into $REALWIDTH (default $BUILD/realwidth; made when missing).
# Ours runs at each precision of PRECISIONS (f32 bf16), torch in each mode of TORCH_MODES (f32: the model
# upcast; autocast: f32 model under bf16 autocast; bf16: the checkpoint native in bf16 + autocast, torch's
# fastest). Per model it prints each side's best step time of REPS steps after a warm-up and its parts, the
# ratio torch/ours (> 1: ours is faster) of every pair, the peak RSS of each process, and the step's GEMM
# GFLOP/s as a share of the machine's peak GEMM of that precision (bench/cpu_limits.sh, measured at the
# start unless LIMITS=reuse and $BUILD/bench/limits.txt exists).
# Env: THREADS (default: all cores), T, REPS (default 3), MODELS (default "tiny vicuna qwen2"), PRECISIONS,
# TORCH_MODES, LIMITS, REALWIDTH, BUILD, PYTHON, OMP_WAIT_POLICY (default passive).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build} PYTHON=${PYTHON:-python3} SHARED=${SHARED:-../shared}
THREADS=${THREADS:-$(nproc)} T=${T:-64} REPS=${REPS:-3} MODELS=${MODELS:-tiny vicuna qwen2}
PRECISIONS=${PRECISIONS:-f32 bf16} TORCH_MODES=${TORCH_MODES:-f32 autocast bf16} LIMITS=${LIMITS:-measure}
REALWIDTH=${REALWIDTH:-$BUILD/realwidth}
# passive OpenMP waits (as bench/llm.sh, both sides): with active spinning a 2-thread run on a shared machine loses
# its time slices to the other thread's spin (the tiny step measured 1.2 s active vs 0.007 s passive at load 9)
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS SHARED
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
[ -f "$BUILD/libfastcache.a" ] || { echo "train_step: $BUILD/libfastcache.a missing (run make first)"; exit 1; }
mkdir -p "$BUILD/bench"
exe=$BUILD/bench/train_step
${CC:-cc} -std=c11 -D_GNU_SOURCE -I. -O2 -march=native -fopenmp -o "$exe" bench/train_step.c "$BUILD/libfastcache.a" \
  -lopenblas -lcjson -lyaml -lpcre2-8 -ljpeg -lpng -lm -lpthread -ldl \
  $([ -f /usr/include/oneapi/dnnl/dnnl.h ] && echo -ldnnl)  # the CUDA backend is dlopen'd: nothing to link
case " $MODELS " in *" vicuna "*|*" qwen2 "*)
  [ -f "$REALWIDTH/vicuna7b-2l/config.json" ] && [ -f "$REALWIDTH/qwen2-7b-2l/config.json" ] ||
    "$PYTHON" tools/make_realwidth_models.py "$REALWIDTH" ;; esac
limits=$BUILD/bench/limits.txt
[ "$LIMITS" = reuse ] && [ -f "$limits" ] || THREADS=$THREADS BUILD=$BUILD bash bench/cpu_limits.sh >/dev/null
lim() { tr ' ' '\n' < "$limits" | sed -n "s/^$1=//p" | head -1; }
peak_bf16=$(lim bf16_gemm_gflops) peak_f32=$(lim f32_gemm_gflops)
echo "train_step: limits ($limits): bf16 GEMM ${peak_bf16} GFLOP/s, f32 GEMM ${peak_f32} GFLOP/s;" \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
val() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
for name in $MODELS; do
  case $name in
    tiny) dir=tests/fixtures/llm/qwen2_odd; args="160 32 5 128" ;;
    vicuna) dir=$REALWIDTH/vicuna7b-2l; args="600 $T 5 576" ;;
    qwen2) dir=$REALWIDTH/qwen2-7b-2l; args="600 $T 0 0" ;;
    *) echo "train_step: unknown model '$name'"; exit 1 ;;
  esac
  echo "train_step $name (P T img_start img_len = $args, $THREADS threads, best of $REPS; load $(cut -d' ' -f1 /proc/loadavg))"
  declare -A ours=() torch=()
  for p in $PRECISIONS; do
    ours[$p]=$(FC_PRECISION=$p "$exe" "$dir" $args "$REPS")
    echo "  ours $p:  ${ours[$p]}"
  done
  for tm in $TORCH_MODES; do
    torch[$tm]=$("$PYTHON" bench/train_step.py "$dir" $args "$REPS" --threads "$THREADS" --mode "$tm")
    echo "  torch $tm: ${torch[$tm]}"
  done
  for p in $PRECISIONS; do
    o=${ours[$p]} peak=$([ "$p" = bf16 ] && echo "$peak_bf16" || echo "$peak_f32")
    awk -v n="$name" -v p="$p" -v s="$(val "$o" step_s)" -v g="$(val "$o" gflop_run)" -v pk="$peak" \
      -v m="$(val "$o" peak_rss_mb)" 'BEGIN { printf "train_step %-7s ours %-5s %.4fs  %.1f GFLOP/s (GEMMs it runs) = %.0f%% of the %s GEMM peak %s; peak RSS %.0f MB\n", n, p, s, g / s, (pk > 0 ? 100 * g / s / pk : 0), p, pk, m }'
    for tm in $TORCH_MODES; do
      t=${torch[$tm]}
      awk -v n="$name" -v p="$p" -v tm="$tm" -v a="$(val "$o" step_s)" -v b="$(val "$t" step_s)" \
        -v ma="$(val "$o" peak_rss_mb)" -v mb="$(val "$t" peak_rss_mb)" -v g="$(val "$o" gflop)" \
        -v pk="$([ "$tm" = f32 ] && echo "$peak_f32" || echo "$peak_bf16")" \
        'BEGIN { printf "train_step %-7s ours %-5s vs torch %-8s %.4fs vs %.4fs: %.2fx faster; peak RSS %.0f vs %.0f MB (%.2fx less); torch %.1f GFLOP/s = %.0f%% of its GEMM peak\n", n, p, tm, a, b, b / a, ma, mb, mb / ma, g / b, (pk > 0 ? 100 * g / b / pk : 0) }'
    done
  done
  unset ours torch
done
