#!/usr/bin/env bash
# resize_order.sh: `fc-eval preprocess` on a tall screenshot-like image (400x1300, made by
# tools/make_resize_order_fixtures.py) writes exactly the pixel tensors of the reference processors under
# Pillow 13 (issue 13: LLaVA 400x1300 -> 336x1092 and MiniCPM-V's 252x812 overview resize run the vertical
# pass first), and with --legacy-resize those under Pillow 12.1 (horizontal pass first), for both model kinds,
# in the release and ASan+UBSan builds. Compared: the SHA-256 of the safetensors data section (every tensor's
# bytes, in the file's order), against tests/fixtures/image/resize_order/cli.json.
. "$(dirname "$0")/lib.sh"
R=tests/fixtures/image/resize_order
LLAVA=$FC_SHARED/data/models/llava-1.5-7b-hf
MCV=$FC_SHARED/data/models/minicpm-v-2_6

want() { grep -oE "\"$1\": \"[0-9a-f]{64}\"" "$R/cli.json" | grep -oE '[0-9a-f]{64}'; }

# check_data NAME FILE SHA: the data section of safetensors FILE (after the 8-byte header length and the
# header) hashes to SHA.
check_data() {
  local hlen got
  hlen=$(od -An -t u8 -N8 "$2" | tr -d ' ')
  got=$(tail -c +$((hlen + 9)) "$2" | sha256sum | cut -d' ' -f1)
  if [ -n "$3" ] && [ "$got" = "$3" ]; then pass "$1"; else fail "$1: data sha256 $got, reference ${3:-missing}"; fi
}

for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  check_ok "$b llava tall image" "$b/fc-eval" preprocess --model "$LLAVA" --image "$R/doc_400x1300.png" --out "$TMPD/l.safetensors"
  check_data "$b llava tall image = Pillow 13" "$TMPD/l.safetensors" "$(want llava)"
  check_ok "$b llava tall image, legacy order" "$b/fc-eval" preprocess --model "$LLAVA" --legacy-resize --image "$R/doc_400x1300.png" --out "$TMPD/l2.safetensors"
  check_data "$b llava --legacy-resize = Pillow 12.1" "$TMPD/l2.safetensors" "$(want llava_legacy)"
  check_ok "$b minicpmv tall image" "$b/fc-eval" preprocess --model "$MCV" --image "$R/doc_400x1300.png" --out "$TMPD/m.safetensors"
  check_grep "$b minicpmv tall image grid" 'grid 1x3, 4 pieces: 252x812 434x462 434x462 434x462' "$TMPD/out"
  check_data "$b minicpmv tall image = Pillow 13" "$TMPD/m.safetensors" "$(want minicpmv)"
  check_ok "$b minicpmv tall image, legacy order" "$b/fc-eval" preprocess --model "$MCV" --legacy-resize --image "$R/doc_400x1300.png" --out "$TMPD/m2.safetensors"
  check_data "$b minicpmv --legacy-resize = Pillow 12.1" "$TMPD/m2.safetensors" "$(want minicpmv_legacy)"
done
finish
