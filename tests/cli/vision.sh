#!/usr/bin/env bash
# vision.sh: `fc-eval vision` on the tiny vision fixtures (release and ASan builds), and its error paths.
source "$(dirname "$0")/lib.sh"
V=tests/fixtures/vision
for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  check_ok "vision llava-tiny ($b)" "$b/fc-eval" vision "$V/llava-tiny" --reps 2
  check_grep "clip output is 9 x 64 ($b)" '^clip\+projector: output \[9,64\]' "$TMPD/out"
  check_grep "ms_per_image line ($b)" '^ms_per_image=[0-9.]+$' "$TMPD/out"
  check_ok "vision minicpm-tiny 5x7 ($b)" "$b/fc-eval" vision "$V/minicpm-tiny" --grid 5x7 --reps 1 --warmup 0
  check_grep "resampler output is 8 x 256 ($b)" '^navit\+resampler: output \[8,256\]' "$TMPD/out"
done
check_ok "vision --help" "$FC_BIN/fc-eval" vision --help
check_error "vision without MODEL" 'missing MODEL' "$FC_BIN/fc-eval" vision
check_error "vision bad grid" '--grid: expected HxW' "$FC_BIN/fc-eval" vision "$V/minicpm-tiny" --grid 5
check_error "vision reps out of range" '--reps: 0 is outside' "$FC_BIN/fc-eval" vision "$V/llava-tiny" --reps 0
check_error "vision folder without config" 'no config.json' "$FC_ASAN_BIN/fc-eval" vision "$TMPD"
mkdir -p "$TMPD/llama"
echo '{"model_type": "llama", "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
 "num_attention_heads": 4, "vocab_size": 128}' >"$TMPD/llama/config.json"
check_error "vision on a text-only model" 'model_type llama has no vision encoder' "$FC_ASAN_BIN/fc-eval" vision \
  "$TMPD/llama"
check_error "vision llava weights missing" "shard '.*' is missing" "$FC_ASAN_BIN/fc-eval" vision \
  "$FC_SHARED/data/models/llava-1.5-7b-hf"
finish
