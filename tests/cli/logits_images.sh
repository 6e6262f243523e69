#!/usr/bin/env bash
# logits_images.sh: issue 15: `fc-eval logits` with several --image builds the same prompt as `fc-eval run`
# (checked against run --show-prompt: token count and every image piece's span) and feeds back the same
# greedy tokens as run's answer, on the tiny VLM fixtures; release and ASan builds. The single-image layouts
# of both paths are checked against transformers in vlm.sh.
source "$(dirname "$0")/lib.sh"
F=tests/fixtures/vlm
GQA=$FC_SHARED/data/gqa-demo/gqa
LTOK=$FC_SHARED/data/models/llava-1.5-7b-hf
STEPS=4

# run_layout FILE: "N;k:s:e k:s:e ..." from run --show-prompt output (image k piece [s, e))
run_layout() {
  awk '/^prompt: / {n = $2} /^  image [0-9]+ .*tokens \[/ {
         match($0, /\[[0-9]+, [0-9]+\)/); r = substr($0, RSTART + 1, RLENGTH - 2); split(r, p, ", ");
         s = s (s ? " " : "") $2 ":" p[1] ":" p[2] }
       END {print n ";" s}' "$1"
}
# logits_layout FILE: the same from the logits file's metadata (fc-eval inspect)
logits_layout() {
  awk '/^  prompt_tokens: / {n = $2} /^  image\.[0-9]+\.spans: / {
         split($1, k, "."); for (i = 2; i <= NF; i++) { split($i, p, ":"); s = s (s ? " " : "") k[2] ":" p[1] ":" p[2] } }
       END {print n ";" s}' "$1"
}

for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  for m in llava minicpmv; do
    if [ $m = llava ]; then model=(--model $F/llava-tiny --tokenizer "$LTOK")
    else model=(--model $F/minicpmv-tiny); fi
    imgs=(--image "$GQA/2316686.jpg" --image $F/small.png --image "$GQA/2322630.jpg")
    check_ok "$m run 3 images ($b)" "$b/fc-eval" run "${model[@]}" "${imgs[@]}" --prompt "Which differ?" \
      --max-new-tokens $STEPS --print-ids --show-prompt
    cp "$TMPD/out" "$TMPD/run.txt"
    check_grep "$m run has 3 images ($b)" '^prompt: [0-9]+ tokens \(.*\), 3 image\(s\)' "$TMPD/run.txt"
    rm -f "$TMPD/l.safetensors"
    check_ok "$m logits 3 images ($b)" "$b/fc-eval" logits "${model[@]}" "${imgs[@]}" --text "Which differ?" \
      --steps $STEPS --out "$TMPD/l.safetensors"
    check_ok "$m inspect logits ($b)" "$b/fc-eval" inspect "$TMPD/l.safetensors"
    cp "$TMPD/out" "$TMPD/meta.txt"
    want=$(run_layout "$TMPD/run.txt") got=$(logits_layout "$TMPD/meta.txt")
    if [ -n "$want" ] && [ "$want" = "$got" ] && [[ "$want" == *" 2:"* ]]; then pass "$m logits layout = run's ($b)"
    else fail "$m logits layout '$got' != run --show-prompt '$want' ($b)"; fi
    check_grep "$m logits names 3 images ($b)" '^  images: 3$' "$TMPD/meta.txt"
    check_grep "$m logits image.1 is small.png ($b)" '^  image\.1: .*small\.png$' "$TMPD/meta.txt"
    answer=$(tail -n 1 "$TMPD/run.txt" | tr ' ' ',')
    check_grep "$m logits greedy = run's answer ($b)" "^  tokens: .*,$answer\$" "$TMPD/meta.txt"
  done
done
check_error "logits: more images than allowed" "option --image given more than 64 times" "$FC_BIN/fc-eval" logits \
  --model $F/minicpmv-tiny --text hi --out "$TMPD/x.safetensors" $(for i in $(seq 65); do echo --image $F/small.png; done)
check_error "logits --tokenizer without --image" "--tokenizer goes with --image" "$FC_BIN/fc-eval" logits \
  --model $F/minicpmv-tiny --text hi --tokenizer "$LTOK" --out "$TMPD/x.safetensors"
finish
