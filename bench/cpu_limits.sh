#!/usr/bin/env bash
# cpu_limits.sh: the machine's limits that the CPU benchmarks report their figures against (bench/cpu_limits.c):
# peak bf16 GEMM (oneDNN, packed weight), peak f32 GEMM (the better of OpenBLAS and oneDNN) on a 600 x 11008 x
# 4096 product, and DRAM read bandwidth over a 2 GiB buffer, all with $THREADS threads. Writes them to
# $BUILD/bench/limits.txt (read by bench/llm.sh) and prints them.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build} THREADS=${THREADS:-$(nproc)} DRAM_MIB=${DRAM_MIB:-2048}
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
mkdir -p "$BUILD/bench"
exe=$BUILD/bench/cpu_limits
DNNL_FLAGS=$([ -f /usr/include/oneapi/dnnl/dnnl.h ] && echo "-DFC_DNNL=1 -ldnnl" || true)
# CPU-only build of what it needs (a CUDA build's libfastcache.a would need the CUDA libraries to link)
${CC:-cc} -std=c11 -D_GNU_SOURCE -I. -O2 -march=native -fopenmp -o "$exe" bench/cpu_limits.c core/base/*.c \
  core/tensor/*.c kernels/*.c kernels/cpu/*.c $DNNL_FLAGS -lopenblas -lm -lpthread
echo "cpu_limits: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$exe" 600 11008 4096 "$DRAM_MIB" | tee "$BUILD/bench/limits.txt"
