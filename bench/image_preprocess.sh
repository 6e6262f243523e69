#!/usr/bin/env bash
# image_preprocess.sh: seconds per image to go from a JPEG file to the encoder's f32 pixels, ours
# (bench/image_preprocess.c: libjpeg + our Pillow-exact bicubic + normalisation) vs Pillow + transformers'
# CLIPImageProcessor (slow/PIL path, the reference we match bit for bit) for LLaVA, and vs Pillow + the
# Python reference slicing for MiniCPM-V; the 66 GQA images, one thread each side, best of $REPS passes,
# same machine, one run. The output sums must agree (same pixels). Prints the ratio peer/ours (> 1: ours
# is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build} PYTHON=${PYTHON:-python3} SHARED=${SHARED:-../shared} REPS=${REPS:-3}
mkdir -p "$BUILD/bench"
exe=$BUILD/bench/image_preprocess
${CC:-cc} -std=c11 -D_GNU_SOURCE -I. -O2 -march=native -o "$exe" bench/image_preprocess.c core/image/*.c \
  core/base/*.c -ljpeg -lpng -lcjson -lm -lpthread
imgs=("$SHARED"/data/gqa-demo/gqa/*.jpg)
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
for kind in llava minicpmv; do
  [ $kind = llava ] && model=$SHARED/data/models/llava-1.5-7b-hf || model=$SHARED/data/models/minicpm-v-2_6
  read -r t_o s_o < <("$exe" $kind "$model" "$REPS" "${imgs[@]}")
  read -r t_p s_p < <("$PYTHON" bench/image_preprocess.py $kind "$model" "$REPS" "${imgs[@]}")
  awk -v a="$s_o" -v b="$s_p" -v k=$kind 'BEGIN { d = a - b; if (d < 0) d = -d; s = (a < 0 ? -a : a) + 1;
    if (d / s > 1e-6) { printf "image_preprocess %s: output sums differ: %s vs %s\n", k, a, b; exit 1 } }'
  awk -v o="$t_o" -v p="$t_p" -v n="${#imgs[@]}" -v k=$kind 'BEGIN {
    printf "image_preprocess %s: %d GQA images, best of passes, 1 thread\n", k, n
    printf "  ours (decode + resize + normalise)      %8.2f ms/image\n", o * 1e3
    printf "  Pillow + %-30s %8.2f ms/image\n", (k == "llava" ? "CLIPImageProcessor" : "reference slicing (numpy)"), p * 1e3
    printf "ratio image_preprocess_%s: python/ours = %.2fx\n", k, p / o }'
done
