#!/usr/bin/env bash
# image_corpus.sh: `fc-eval preprocess` on every bad image in tests/corpus/image (see its README) fails with
# one clean error line naming the file, in the release and the ASan+UBSan builds; good images work for both
# model kinds; bad options are reported.
. "$(dirname "$0")/lib.sh"
C=tests/corpus/image
E=tests/fixtures/image/edge
LLAVA=$FC_SHARED/data/models/llava-1.5-7b-hf
MCV=$FC_SHARED/data/models/minicpm-v-2_6
for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  for f in "$C"/*; do
    n=$(basename "$f")
    [ "$n" = README ] && continue
    check_error "$b preprocess $n (llava)" "$n" "$b/fc-eval" preprocess --model "$LLAVA" --image "$f" --out "$TMPD/o.safetensors"
    check_error "$b preprocess $n (minicpmv)" "$n" "$b/fc-eval" preprocess --model-type minicpmv --image "$f" --out "$TMPD/o.safetensors"
  done
  check_error "$b preprocess missing file" "no_such\.jpg: cannot open" "$b/fc-eval" preprocess --model-type llava --image "$C/no_such.jpg" --out "$TMPD/o.safetensors"
  check_error "$b preprocess bad --model-type" "--model-type: 'gpt' is not llava or minicpmv" "$b/fc-eval" preprocess --model-type gpt --image "$E/pixel_1x1.png" --out "$TMPD/o.safetensors"
  check_error "$b preprocess undetectable folder" "cannot tell the model type" "$b/fc-eval" preprocess --model "$E" --image "$E/pixel_1x1.png" --out "$TMPD/o.safetensors"
  check_error "$b preprocess no --image" "--image FILE is required" "$b/fc-eval" preprocess --model "$LLAVA" --out "$TMPD/o.safetensors"
  check_error "$b preprocess --pad on minicpmv" "--pad applies to LLaVA only" "$b/fc-eval" preprocess --model "$MCV" --pad --image "$E/pixel_1x1.png" --out "$TMPD/o.safetensors"
  check_ok "$b preprocess llava" "$b/fc-eval" preprocess --model "$LLAVA" --image "$E/r_640x480.jpg" --out "$TMPD/l.safetensors"
  check_grep "$b preprocess llava summary" 'pixel_values \[1,3,336,336\]' "$TMPD/out"
  check_ok "$b preprocess minicpmv" "$b/fc-eval" preprocess --model "$MCV" --image "$E/r_640x480.jpg" --out "$TMPD/m.safetensors"
  check_grep "$b preprocess minicpmv grid" 'grid 2x1, 3 pieces: 518x392 364x546 364x546' "$TMPD/out"
  check_ok "$b preprocess llava legacy order" "$b/fc-eval" preprocess --model "$LLAVA" --legacy-resize --image "$E/pixel_1x1.png" --out "$TMPD/o.safetensors"
  check_ok "$b preprocess minicpmv legacy order" "$b/fc-eval" preprocess --model "$MCV" --legacy-resize --image "$E/ext_1x500.png" --out "$TMPD/m.safetensors"
  check_ok "$b preprocess 1x500 both" "$b/fc-eval" preprocess --model "$LLAVA" --pad --image "$E/ext_1x500.png" --out "$TMPD/p.safetensors"
done
finish
