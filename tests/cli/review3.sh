#!/usr/bin/env bash
# review3.sh: regression checks for defects the third review (evaluation and serving: fc-eval quality, load,
# sweep; fc-train's smalls) found, each named after its defect, on the release and ASan+UBSan binaries:
# one error line, non-zero exit, no sanitizer report, nothing left behind by a rejected run.
. "$(dirname "$0")/lib.sh"
M=tests/fixtures/llm/llama_plain # max_position_embeddings 256
LTOK=$FC_SHARED/data/models/llava-1.5-7b-hf
for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  L=("$b/fc-eval" load --model $M --method none --req-per-sec 5 --requests 2 --no-progress)
  rm -rf "$TMPD/o"
  check_error "$b review3: load_past_context: a prompt past the model's context is refused" \
    "record [0-9]+: 300 prompt tokens \+ --max-new-tokens 4 need 303 positions, past the model's context of 256 \(max_position_embeddings in $M/config.json\)" \
    "${L[@]}" --data synthetic:prompt=300 --max-new-tokens 4 --out "$TMPD/o/a/b"
  check_error "$b review3: load_past_context: prompt + generated tokens past the context" \
    "200 prompt tokens \+ --max-new-tokens 60 need 259 positions, past the model's context of 256" \
    "${L[@]}" --data synthetic:prompt=200 --max-new-tokens 60 --out "$TMPD/o/a/b"
  check_error "$b review3: load_out_made_before_checks: --kv-budget 0" "--kv-budget 0 bytes is less than one KV block" \
    "${L[@]}" --data synthetic:prompt=60 --kv-budget 0 --out "$TMPD/o/a/b"
  if [ -e "$TMPD/o" ]; then fail "$b review3: load_out_made_before_checks: $TMPD/o left behind"; else pass "$b review3: load_out_made_before_checks: nothing left behind"; fi
  check_ok "$b review3: load at 255 positions runs" "${L[@]}" --data synthetic:prompt=200 --max-new-tokens 56 --out "$TMPD/o/a/b"
  if [ -f "$TMPD/o/a/b/summary.json" ]; then pass "$b review3: load writes into the folder it made"; else fail "$b review3: no summary.json"; fi
  touch "$TMPD/file"
  check_error "$b review3: load_out_made_before_checks: --out under a file" "$TMPD/file: exists and is not a folder" \
    "${L[@]}" --data synthetic:prompt=60 --max-new-tokens 2 --out "$TMPD/file/x"
  # multi-turn quality: a later turn with an empty answer is one clear error naming the record and turn
  printf '[{"id":"e1","image":"gqa/images/1.png","conversations":[{"from":"human","value":"<image>\\nWhat?"},{"from":"gpt","value":"cat"},{"from":"human","value":"And?"},{"from":"gpt","value":"  "}]}]' >"$TMPD/e.json"
  check_error "$b review3: quality_only_first_turn_evaluated: a later empty answer" "record 0 \(id 'e1'\): turn 4: the answer is empty" \
    "$b/fc-eval" quality --model data/testbed/llava-tiny --data "$TMPD/e.json" --images tests/fixtures/data/images \
    --method knorm:ratio=2 --max-new-tokens 2
  # one --ids reader for generate and logits (eval/prompt_input.c fc_eval_prompts_run): the same errors
  for cmd in "generate --max-new-tokens 2" "logits --out $TMPD/lg.safetensors"; do
    check_error "$b review3: ids_parsing_duplicated: ${cmd%% *} --ids ''" "^fc-eval: error: --ids: no token ids in ''$" \
      "$b/fc-eval" $cmd --model $M --ids ""
    check_error "$b review3: ids_parsing_duplicated: ${cmd%% *} --ids 1,x" "--ids" "$b/fc-eval" $cmd --model $M --ids 1,x
  done
  check_ok "$b review3: ids_parsing_duplicated: logits --ids runs" "$b/fc-eval" logits --model $M --ids 1,2,3 --out "$TMPD/lg.safetensors"
  check_ok "$b review3: ids_parsing_duplicated: generate --ids runs" "$b/fc-eval" generate --model $M --ids 1,2,3 --max-new-tokens 2 --print-ids
  if [ -f "$LTOK/tokenizer.json" ]; then
    TR=("$b/fc-train" llava --model tests/fixtures/vlm/llava-tiny --tokenizer "$LTOK"
        --data tests/fixtures/train/conv.json --images tests/fixtures/train/images --threads 1)
    check_error "$b review3: train_val_ids_repeated: --val-ids with an id twice is refused" \
      "validation id 't01' is given twice" "${TR[@]}" --max-steps 1 --val-ids t01,t02,t01 --out "$TMPD/v.safetensors"
    if ls "$TMPD" | grep -q '^v\.'; then fail "$b review3: train_val_ids_repeated: nothing written"; else pass "$b review3: train_val_ids_repeated: nothing written"; fi
    mkdir -p "$TMPD/g"
    for out in "$TMPD/g/" "$TMPD/g"; do
      check_error "$b review3: grad_out_names_temp_file: --out $out names the user's path" \
        "^fc-train: error: --out $out: a folder, not a file name \(give e\.g\. $TMPD/g/grad\.safetensors\)$" \
        "$b/fc-train" grad --model tests/fixtures/vlm/llava-tiny --tokenizer "$LTOK" \
        --ccm tests/fixtures/compress/ccm_llava_tiny_random.safetensors --data tests/fixtures/train/conv.json \
        --images tests/fixtures/train/images --ids t00 --out "$out"
    done
  else skip "$b review3: train smalls: no LLaVA tokenizer in $FC_SHARED"; fi
done
finish
