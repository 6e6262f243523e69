#!/usr/bin/env bash
# st_open.sh: "open a 2 GiB safetensors file and touch one small tensor": our reader (bench/st_open.c) vs the
# Python safetensors library (bench/st_open.py, safe_open + get_tensor), same file, same machine, one run.
# Each measurement is a fresh process (so no state is reused; the page cache stays warm, hence "cold-ish"),
# timed inside the process from before open to after close; best of $REPS each. The file lives in a temp
# folder and is deleted at the end. Prints the ratio peer/ours (> 1: ours is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build} PYTHON=${PYTHON:-python3} REPS=${REPS:-7}
work=$(mktemp -d "${TMPDIR:-/tmp}/fc_bench_st.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$BUILD/bench"
exe=$BUILD/bench/st_open
# built from the sources it needs, CPU only, so it does not depend on how the library was configured
${CC:-cc} -std=c11 -D_GNU_SOURCE -I. -O2 -o "$exe" bench/st_open.c core/io/safetensors.c core/io/safetensors_index.c \
  core/io/safetensors_write.c core/base/*.c core/tensor/*.c kernels/backend.c -fopenmp -lcjson -lm -lpthread
file=$work/bench.safetensors
"$exe" make "$file"
size=$(stat -c %s "$file")
best() { sort -g | head -n 1; }
ours=() peer=()
for i in $(seq "$REPS"); do # interleaved, so drift in the machine's load hits both sides alike
  ours+=("$("$exe" read "$file" small.bias)")
  peer+=("$("$PYTHON" bench/st_open.py "$file" small.bias)")
done
sum_o=$(printf '%s\n' "${ours[@]}" | awk '{print $2}' | sort -u)
sum_p=$(printf '%s\n' "${peer[@]}" | awk '{print $2}' | sort -u)
if [ "$sum_o" != "$sum_p" ]; then echo "st_open: the two readers disagree on the tensor's sum: $sum_o vs $sum_p"; exit 1; fi
t_o=$(printf '%s\n' "${ours[@]}" | awk '{print $1}' | best)
t_p=$(printf '%s\n' "${peer[@]}" | awk '{print $1}' | best)
ver=$("$PYTHON" -c 'import safetensors; print(safetensors.__version__)')
awk -v o="$t_o" -v p="$t_p" -v n="$REPS" -v s="$size" -v v="$ver" 'BEGIN {
  printf "st_open: %.2f GB file, 257 tensors, best of %d fresh processes\n", s / 1e9, n
  printf "  ours (fc_st_open + find + sum + close)                 %9.1f us\n", o * 1e6
  printf "  safetensors %s (safe_open + get_tensor + sum, numpy) %9.1f us\n", v, p * 1e6
  printf "ratio st_open: safetensors/ours = %.2fx\n", p / o }'
