#!/usr/bin/env bash
# ops_linear.sh: our CPU linear (fc_op_linear: f32 activations, weights converted as used) against
# torch.nn.functional.linear, for the decode (M=1) and prefill (M=128) shapes of a 7B Llama layer
# (4096x4096 attention projections, 11008x4096 MLP) with bf16 and f32 weights, same thread count
# ($THREADS, default all cores), one run, interleaved. Prints per row the ratio torch/ours of the median
# and of the best call time (> 1: ours is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build} PYTHON=${PYTHON:-python3} THREADS=${THREADS:-$(nproc)}
# Idle OpenMP threads sleep instead of spinning (both sides: torch's wheels use libgomp too). On a machine
# shared with other jobs, spinning workers that lose their core turn a 1 ms call into 12-16 ms (measured
# here: M=1 bf16 4096x4096 median 12.8 ms spinning, 1.5 ms passive). Override with OMP_WAIT_POLICY=active.
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p "$BUILD/bench"
DNNL_FLAGS=$([ -f /usr/include/oneapi/dnnl/dnnl.h ] && echo "-DFC_DNNL=1 -ldnnl" || true)
exe=$BUILD/bench/ops_linear
# built from the sources it needs, CPU only and with the release flags, so it does not depend on how the
# library was configured (a CUDA build's libfastcache.a would need the CUDA libraries to link)
${CC:-cc} -std=c11 -D_GNU_SOURCE -I. -O2 -march=native -fopenmp -o "$exe" bench/ops_linear.c core/base/*.c \
  core/tensor/*.c kernels/*.c kernels/cpu/*.c $DNNL_FLAGS -lopenblas -lm -lpthread
tv=$("$PYTHON" -c 'import torch; print(torch.__version__)')
echo "ops_linear: threads $THREADS, OMP_WAIT_POLICY=$OMP_WAIT_POLICY, torch $tv; ms per call, median and best after a warm-up"
echo "  (on a shared machine the medians carry the scheduler's noise; the best times show the kernels)"
printf '  %-4s %5s %-11s %17s %17s %12s %10s\n' dtype M "N x K" "ours med/best" "torch med/best" "torch/ours" "(best)"
for shape in "4096 4096" "11008 4096"; do
  for dt in bf16 f32; do
    for M in 1 128; do
      iters=$([ "$M" = 1 ] && echo 30 || echo 5)
      set -- $shape
      o=$("$exe" "$M" "$1" "$2" "$dt" "$iters")
      p=$("$PYTHON" bench/ops_linear.py "$M" "$1" "$2" "$dt" "$iters" "$THREADS")
      echo "$o $p" | awk -v d="$dt" -v m="$M" -v s="$1x$2" \
        '{ printf "  %-4s %5d %-11s %8.3f/%8.3f %8.3f/%8.3f %11.2fx %9.2fx\n", d, m, s, $2, $3, $5, $6, $5 / $2, $6 / $3 }'
    done
  done
done
