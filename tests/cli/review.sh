#!/usr/bin/env bash
# review.sh: regression checks for defects a review of fc-eval data / quality found, each named after its
# defect, on the release and ASan+UBSan binaries: one error line, non-zero exit, before any model work.
. "$(dirname "$0")/lib.sh"
F=tests/fixtures/data
LTOK=$FC_SHARED/data/models/llava-1.5-7b-hf
# inputs made here: an id with a newline, an image path that is a folder
printf '[{"id": "a\\nfc-eval: error: fake", "image": "missing.png", "conversations": [{"from": "human", "value": "<image>\\nQ"}, {"from": "gpt", "value": "A"}]}]' >"$TMPD/oddid.json"
mkdir -p "$TMPD/imgs/pic.png"
printf '[{"id": "f", "image": "pic.png", "conversations": [{"from": "human", "value": "<image>\\nQ"}, {"from": "gpt", "value": "A"}]}]' >"$TMPD/folder.json"
for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  check_error "$b review: data id with a newline gives one line" "oddid\.json: record 0 \(id 'a\\\\nfc-eval: error: fake'\): image 'missing\.png' not found" \
    "$b/fc-eval" data "$TMPD/oddid.json" --images "$TMPD"
  check_error "$b review: data image that is a folder" "record 0 \(id 'f'\): image 'pic\.png' in '.*imgs' is a folder, not an image file" \
    "$b/fc-eval" data "$TMPD/folder.json" --images "$TMPD/imgs"
  cp $F/images/gqa/images/1.png "$TMPD/imgs/ok.png"
  printf '[{"id": "x\\ty\\nz", "image": "ok.png", "conversations": [{"from": "human", "value": "<image>\\nQ"}, {"from": "gpt", "value": "A"}]}]' >"$TMPD/tabid.json"
  check_ok "$b review: data --records with a tab and a newline in an id" "$b/fc-eval" data "$TMPD/tabid.json" --images "$TMPD/imgs" --records
  if [ "$(wc -l <"$TMPD/out")" -eq 2 ] && grep -qF 'x\ty\nz	' "$TMPD/out"; then pass "$b review: data --records one line per record"
  else fail "$b review: data --records one line per record: $(cat "$TMPD/out")"; fi
  if [ ! -f "$LTOK/tokenizer.json" ]; then skip "$b review quality: $LTOK not found"; continue; fi
  Q=("$b/fc-eval" quality --model tests/fixtures/vlm/llava-tiny --tokenizer "$LTOK" --data $F/llava.json
     --images $F/images --lenient --max-new-tokens 2 --limit 1)
  check_error "$b review: quality --out that is a file fails before the run" "llava\.json: not a folder \(--out names one\)" \
    "${Q[@]}" --method knorm --out $F/llava.json
  check_error "$b review: quality kv budget no pool can address is not a record's error" "^fc-eval: error: a KV budget of 1000000000000000 bytes is [0-9]+ blocks of [0-9]+ bytes, more than one pool can address$" \
    "${Q[@]}" --method knorm --kv-budget 1e15
  # (its held-out warning line comes first: that checkpoint records no ids)
  timeout 60 "${Q[@]}" --ccm tests/fixtures/compress/ccm_minicpm.safetensors --allow-overlap >"$TMPD/out" 2>"$TMPD/err"
  rc=$?
  if [ $rc -eq 1 ] && ! grep -qE 'Sanitizer|runtime error|^quality' "$TMPD/err" && [ "$(wc -l <"$TMPD/err")" -eq 2 ] &&
     tail -n 1 "$TMPD/err" | grep -qE '^fc-eval: error: tests/fixtures/compress/ccm_minicpm\.safetensors: a CCM checkpoint for 1 layers of head dim 16; the model has 2 layers of head dim 8$'; then
    pass "$b review: quality ccm for another model refused up front"
  else fail "$b review: quality ccm for another model refused up front: exit $rc: $(head -c 600 "$TMPD/err")"; fi
done
finish
