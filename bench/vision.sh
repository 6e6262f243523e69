#!/usr/bin/env bash
# vision.sh: one image through the real-size vision encoders, ours vs PyTorch, same weights, same threads.
#   LLaVA-1.5:     CLIP ViT-L/14-336 (the 23 layers LLaVA reads) + projector, one 336x336 image, f16 weights
#   MiniCPM-V-2.6: SigLIP-so400m NaViT (27 layers) + resampler, one 32x32-patch (448x448) slice, bf16 weights
# Random weights from tools/make_vision_bench.py in a temporary folder (about 1.6 GB, removed afterwards).
# Prints each side's ms per image and the ratio torch/ours (> 1: we are faster), ours in f32 (the reference
# path) and with --precision bf16 (bf16 GEMMs and attention matmuls; skipped with a note where the CPU lacks
# them). The torch side runs the weights upcast to f32 and, torch's fastest CPU path, in bf16
# (make_vision_bench.py).
# Env: THREADS (default: all cores), REPS (default 2), GRID (default 32x32), BIN, PYTHON, SHARED.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin} PYTHON=${PYTHON:-python3} SHARED=${SHARED:-../shared}
THREADS=${THREADS:-$(nproc)} REPS=${REPS:-2} GRID=${GRID:-32x32}
# idle OpenMP workers sleep instead of spinning, both sides (see bench/ops_linear.sh)
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
[ -x "$BIN/fc-eval" ] || { echo "vision: $BIN/fc-eval missing (run make first)"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fc-vision-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
"$PYTHON" tools/make_vision_bench.py --out "$tmp" --shared "$SHARED" --threads "$THREADS" --reps "$REPS" \
  --grid "$GRID" | tee "$tmp/torch.txt"
torch_clip=$(sed -n 's/^torch_clip_ms=//p' "$tmp/torch.txt")
torch_minicpm=$(sed -n 's/^torch_minicpm_ms=//p' "$tmp/torch.txt")
torch16_clip=$(sed -n 's/^torch_clip_bf16_ms=//p' "$tmp/torch.txt")
torch16_minicpm=$(sed -n 's/^torch_minicpm_bf16_ms=//p' "$tmp/torch.txt")
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
"$BIN/fc-eval" vision "$tmp/llava" --reps "$REPS" | tee "$tmp/clip.txt"
"$BIN/fc-eval" vision "$tmp/minicpm" --grid "$GRID" --reps "$REPS" | tee "$tmp/minicpm.txt"
ours_clip=$(sed -n 's/^ms_per_image=//p' "$tmp/clip.txt")
ours_minicpm=$(sed -n 's/^ms_per_image=//p' "$tmp/minicpm.txt")
"$BIN/fc-eval" --precision bf16 vision "$tmp/llava" --reps "$REPS" 2>"$tmp/bf16.err" | tee "$tmp/clip16.txt"
"$BIN/fc-eval" --precision bf16 vision "$tmp/minicpm" --grid "$GRID" --reps "$REPS" 2>>"$tmp/bf16.err" | tee "$tmp/minicpm16.txt"
bf16_clip=$(sed -n 's/^ms_per_image=//p' "$tmp/clip16.txt")
bf16_minicpm=$(sed -n 's/^ms_per_image=//p' "$tmp/minicpm16.txt")
awk -v a="$torch_clip" -v b="$ours_clip" -v c="$torch_minicpm" -v d="$ours_minicpm" -v t="$THREADS" 'BEGIN {
  printf "vision clip+projector  336x336: torch %9.1f ms, ours %9.1f ms, ratio %.2fx (%d threads)\n", a, b, a / b, t
  printf "vision navit+resampler %s: torch %9.1f ms, ours %9.1f ms, ratio %.2fx (%d threads)\n", "'"$GRID"'", c, d, c / d, t
}'
if grep -q "running with f32" "$tmp/bf16.err"; then
  echo "vision bf16: not run ($(head -1 "$tmp/bf16.err"))"
else
  awk -v a="$torch_clip" -v b="$bf16_clip" -v c="$torch_minicpm" -v d="$bf16_minicpm" -v t="$THREADS" 'BEGIN {
    printf "vision clip+projector  336x336: torch f32 %9.1f ms, ours bf16 %9.1f ms, ratio %.2fx (%d threads)\n", a, b, a / b, t
    printf "vision navit+resampler %s: torch f32 %9.1f ms, ours bf16 %9.1f ms, ratio %.2fx (%d threads)\n", "'"$GRID"'", c, d, c / d, t
  }'
  awk -v a="$torch16_clip" -v b="$bf16_clip" -v c="$torch16_minicpm" -v d="$bf16_minicpm" -v t="$THREADS" 'BEGIN {
    printf "vision clip+projector  336x336: torch bf16 %9.1f ms, ours bf16 %9.1f ms, ratio %.2fx (%d threads)\n", a, b, a / b, t
    printf "vision navit+resampler %s: torch bf16 %9.1f ms, ours bf16 %9.1f ms, ratio %.2fx (%d threads)\n", "'"$GRID"'", c, d, c / d, t
  }'
fi
