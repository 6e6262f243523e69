#!/usr/bin/env bash
# synth.sh: `fc-eval synth` (the synthetic visual-QA testbed): same seed -> byte-identical files, the
# multi-image and long samples leave the single-image files alone, one split alone equals that split of
# `--split all`, JSON layouts, the shipped testbed model answering through `fc-eval run`, and the error paths.
source "$(dirname "$0")/lib.sh"
S="--n 6 --seed 3 --questions 5"
check_ok "synth a" "$FC_BIN/fc-eval" synth --out "$TMPD/a" $S --pack --describe --format both
check_grep "synth reports the counts" 'train 6, validation 6, test 6' "$TMPD/out"
check_ok "synth b (ASan, same seed)" "$FC_ASAN_BIN/fc-eval" synth --out "$TMPD/b" $S --pack --describe --format both
if diff -r "$TMPD/a" "$TMPD/b" >"$TMPD/diff"; then pass "same seed, byte-identical files"
else fail "same seed, different files: $(head -c 400 "$TMPD/diff")"; fi
check_ok "synth other seed" "$FC_BIN/fc-eval" synth --out "$TMPD/c" --n 6 --seed 4 --questions 5 --pack --describe
if cmp -s "$TMPD/a/train.json" "$TMPD/c/train.json"; then fail "seed 4 wrote the same train.json as seed 3"
else pass "another seed, other data"; fi
check_ok "synth with multi and long" "$FC_BIN/fc-eval" synth --out "$TMPD/m" $S --pack --describe --format both \
  --multi 3 --multi-images 2..3 --long 1 --long-images 5
same=1
for f in train.json test.json validation_questions.json test_scenes.json images/test_000004.png images/train_000005.jpg; do
  cmp -s "$TMPD/a/$f" "$TMPD/m/$f" || same=0
done
if [ $same = 1 ]; then pass "multi/long samples leave the single-image files unchanged"
else fail "adding --multi/--long changed the single-image files"; fi
check_grep "multi-image entry lists its pictures" '"image":\["images/multi_test_000000.png","images/multi_test_000001.png"' "$TMPD/m/multi_test.json"
check_grep "long entry has 5 image tags" '"value":"<image>\\n<image>\\n<image>\\n<image>\\n<image>\\n[A-Z]' "$TMPD/m/long_train.json"
check_grep "multi question file names its images" '"imageIds":\["multi_validation_' "$TMPD/m/multi_validation_questions.json"
check_ok "synth test split alone" "$FC_BIN/fc-eval" synth --out "$TMPD/t" $S --pack --describe --split test
if cmp -s "$TMPD/a/test_questions.json" "$TMPD/t/test_questions.json" && cmp -s "$TMPD/a/test.json" "$TMPD/t/test.json" \
   && [ ! -e "$TMPD/t/train.json" ]; then pass "--split test equals the test split of --split all"
else fail "--split test differs from the test split of --split all"; fi
check_grep "LLaVA layout: <image> opens the first human turn" \
  '^\[\{"id":"train_000000","image":"images/train_000000.png","conversations":\[\{"from":"human","value":"<image>\\n' "$TMPD/a/train.json"
check_grep "packed conversation ends with the describe turn" '"value":"Describe the image."\},\{"from":"gpt","value":"[a-z]+ [a-z]+ at ' "$TMPD/a/train.json"
check_grep "GQA layout: question id -> imageId, question, answer" '^\{"test_000000_0":\{"imageId":"test_000000","question":"[^"]+\?","answer":"' "$TMPD/a/test_questions.json"
check_grep "manifest records the seed" '"seed":[[:space:]]*"3"' "$TMPD/a/synth.json"
n=$(ls "$TMPD/a/images" | wc -l)
if [ "$n" = 36 ]; then pass "18 pictures in two formats"; else fail "want 36 picture files, got $n"; fi
check_ok "synth unpacked" "$FC_BIN/fc-eval" synth --out "$TMPD/u" --n 2 --split validation --questions 3
check_grep "one conversation per question" '"id":"validation_000001_2","image":"images/validation_000001.png"' "$TMPD/u/validation.json"

# the shipped testbed model (when present) answers a test question through the C engine
M=data/testbed/llava-tiny
if [ -f "$M/model.safetensors" ]; then
  check_ok "testbed llava-tiny answers" "$FC_BIN/fc-eval" run --model "$M" --image "$TMPD/a/images/test_000000.png" \
    --prompt "How many objects are there?" --max-new-tokens 4
  check_grep "the answer is a number" '^[0-9]$' "$TMPD/out"
else skip "testbed llava-tiny not shipped yet"; fi

check_ok "synth --help" "$FC_BIN/fc-eval" synth --help
check_error "synth without --out" '--out DIR is required' "$FC_BIN/fc-eval" synth --n 2
check_error "synth bad grid" '--grid' "$FC_ASAN_BIN/fc-eval" synth --out "$TMPD/x" --grid 9
check_error "synth objects MAX below MIN" 'MAX is below MIN' "$FC_ASAN_BIN/fc-eval" synth --out "$TMPD/x" --objects 5..2
check_error "synth more objects than cells" 'objects 1\.\.9 .*4 cells' "$FC_ASAN_BIN/fc-eval" synth --out "$TMPD/x" --grid 2 --objects 1..9
check_error "synth bad format" "--format 'gif'" "$FC_BIN/fc-eval" synth --out "$TMPD/x" --format gif
check_error "synth bad split" "--split 'dev'" "$FC_BIN/fc-eval" synth --out "$TMPD/x" --split dev
check_error "synth negative seed" "--seed '-1'" "$FC_BIN/fc-eval" synth --out "$TMPD/x" --seed -1
check_error "synth long-images range" 'one number' "$FC_BIN/fc-eval" synth --out "$TMPD/x" --long 1 --long-images 2..4
touch "$TMPD/file"
check_error "synth --out is a file" 'not a directory' "$FC_ASAN_BIN/fc-eval" synth --out "$TMPD/file" --n 1
check_error "synth unknown option" "unknown option '--bogus'" "$FC_BIN/fc-eval" synth --out "$TMPD/x" --bogus
finish
