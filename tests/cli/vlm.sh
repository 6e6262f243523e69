#!/usr/bin/env bash
# vlm.sh: `fc-eval run` and `fc-eval logits --image` on the tiny VLM fixtures (tools/make_vlm_fixtures.py),
# release and ASan builds, and their error paths. Expected ids and spans are the fixture's (cases.safetensors:
# <case>.greedy, <case>.ids length, <case>.spans), computed by transformers / the MiniCPM-V reference.
source "$(dirname "$0")/lib.sh"
F=tests/fixtures/vlm
GQA=$FC_SHARED/data/gqa-demo/gqa
LTOK=$FC_SHARED/data/models/llava-1.5-7b-hf
for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  check_ok "run llava-tiny greedy ($b)" "$b/fc-eval" run --model $F/llava-tiny --tokenizer "$LTOK" \
    --image "$GQA/2316686.jpg" --prompt "What is on the table?" --max-new-tokens 8 --print-ids --show-prompt
  check_grep "llava prompt layout ($b)" '^prompt: 34 tokens \(llava\), 1 image\(s\), 1 image span\(s\)$' "$TMPD/out"
  check_grep "llava image span ($b)" '^  image 0 all: tokens \[5, 21\) \(16\)$' "$TMPD/out"
  check_grep "llava greedy = transformers ($b)" '^26006 6552 13062 15343 5418 20882 5401 28307$' "$TMPD/out"
  check_ok "run minicpmv-tiny sliced ($b)" "$b/fc-eval" run --model $F/minicpmv-tiny --image "$GQA/2316686.jpg" \
    --prompt "What is on the table?" --max-new-tokens 8 --print-ids --show-prompt
  check_grep "minicpmv prompt layout ($b)" '^prompt: 87 tokens \(minicpmv\), 1 image\(s\), 5 image span\(s\)$' "$TMPD/out"
  check_grep "minicpmv overview span ($b)" '^  image 0 overview: tokens \[22, 30\) \(8\)$' "$TMPD/out"
  check_grep "minicpmv last slice span ($b)" '^  image 0 slice 3: tokens \[63, 71\) \(8\)$' "$TMPD/out"
  check_grep "minicpmv grid ($b)" '^  image 0 slice grid: 2 cols x 2 rows$' "$TMPD/out"
  check_grep "minicpmv greedy = reference ($b)" '^1186 2991 2565 760 2661 567 1059 1125$' "$TMPD/out"
  check_ok "logits --image minicpmv ($b)" "$b/fc-eval" logits --model $F/minicpmv-tiny --image $F/small.png \
    --text "Is the sky blue?" --steps 8 --out "$TMPD/l.safetensors"
  check_ok "inspect logits output ($b)" "$b/fc-eval" inspect "$TMPD/l.safetensors"
  check_grep "logits tokens = prompt + reference greedy ($b)" \
    ',442,1192,1763,1012,2266,729,507,3021' "$TMPD/out"
  # bad input: each a one-line error, no crash or leak
  check_error "run on a non-image file ($b)" 'not a JPEG or PNG' "$b/fc-eval" run --model $F/minicpmv-tiny \
    --image $F/minicpmv-tiny/config.json --prompt "hi"
  check_error "run on a missing image ($b)" 'cannot open' "$b/fc-eval" run --model $F/minicpmv-tiny \
    --image "$TMPD/none.jpg" --prompt "hi"
  check_error "run without vision weights ($b)" "vpm\.embeddings\.patch_embedding\.weight" "$b/fc-eval" run \
    --model $F/minicpmv-no-vision --image $F/small.png --prompt "hi"
  check_error "run llava: prompt writes <image> ($b)" 'more <image> runs than the 1 image.*<image> itself' "$b/fc-eval" run \
    --model $F/llava-tiny --tokenizer "$LTOK" --image $F/small.png --prompt "What is <image>?"
  check_error "run minicpmv: prompt writes an image tag ($b)" 'more image placeholders than the 1 images' \
    "$b/fc-eval" run --model $F/minicpmv-tiny --image $F/small.png --prompt "and (<image>./</image>)"
  check_error "run minicpmv: prompt writes <slice> ($b)" 'image (start|end) token|image run' "$b/fc-eval" run \
    --model $F/minicpmv-tiny --image $F/small.png --prompt "a <slice> b"
  check_error "run on a text-only model ($b)" 'not a vision-language model' "$b/fc-eval" run \
    --model tests/fixtures/llm/llama_plain --image $F/small.png --prompt "hi"
  check_error "run llava without its tokenizer ($b)" 'tokenizer' "$b/fc-eval" run --model $F/llava-tiny \
    --image $F/small.png --prompt "hi"
  check_error "logits --image on a non-image ($b)" 'not a JPEG or PNG' "$b/fc-eval" logits \
    --model $F/minicpmv-tiny --image $F/VERSIONS --text "hi" --out "$TMPD/x.safetensors"
done
check_ok "run --help" "$FC_BIN/fc-eval" run --help
check_error "run without --image" 'at least one --image' "$FC_BIN/fc-eval" run --model $F/minicpmv-tiny --prompt hi
check_error "run without --prompt" '--prompt TEXT are required' "$FC_BIN/fc-eval" run --model $F/minicpmv-tiny \
  --image $F/small.png
check_error "run bad --top-p" '--top-p' "$FC_BIN/fc-eval" run --model $F/minicpmv-tiny --image $F/small.png \
  --prompt hi --top-p 2
check_error "logits --image without --text" '--image needs --text' "$FC_BIN/fc-eval" logits \
  --model $F/minicpmv-tiny --image $F/small.png --ids 1,2 --out "$TMPD/x.safetensors"
finish
