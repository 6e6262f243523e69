#!/usr/bin/env bash
# llm_decode_split.sh: where batch-1 decode time goes (bench/llm_decode_split.c): a full step against its
# linears alone against the DRAM read bandwidth measured in the same process, per model and precision.
# Env: MODELS (folders, default the two real-width models under $REALWIDTH), PRECISIONS (default "bf16"),
# STEPS (default 20), THREADS (default all cores), BUILD.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build} THREADS=${THREADS:-$(nproc)} STEPS=${STEPS:-20} PRECISIONS=${PRECISIONS:-bf16}
REALWIDTH=${REALWIDTH:-$BUILD/realwidth}
MODELS=${MODELS:-$REALWIDTH/vicuna7b-2l $REALWIDTH/qwen2-7b-2l}
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
[ -f "$BUILD/libfastcache.a" ] || { echo "llm_decode_split: $BUILD/libfastcache.a missing (run make first)"; exit 1; }
mkdir -p "$BUILD/bench"
exe=$BUILD/bench/llm_decode_split
DNNL_LIBS=$([ -f /usr/include/oneapi/dnnl/dnnl.h ] && echo "-ldnnl" || true)
${CC:-cc} -std=c11 -D_GNU_SOURCE -I. -O2 -march=native -fopenmp -o "$exe" bench/llm_decode_split.c \
  eval/llm_prompt.c "$BUILD/libfastcache.a" -lopenblas -lcjson -lyaml -lpcre2-8 -ljpeg -lpng -lm -lpthread -ldl $DNNL_LIBS
echo "llm_decode_split: threads $THREADS, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for m in $MODELS; do
  for p in $PRECISIONS; do FC_PRECISION=$p "$exe" "$m" "$STEPS"; done
done
