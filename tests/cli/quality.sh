#!/usr/bin/env bash
# quality.sh: `fc-eval quality` on the tiny LLaVA fixture (tools/make_vlm_fixtures.py) and the dataset fixtures
# (tools/make_data_fixtures.py), release and ASan builds: the full cache against itself is exact (a method that
# keeps everything: KL 0, top-1 agreement 1, every greedy answer identical), a compressing method is not and keeps
# fewer bytes; the files have their headers and rows; CCM checkpoints that trained or validated on an evaluated id
# are refused; bad input gives one line.
. "$(dirname "$0")/lib.sh"
F=tests/fixtures/data
LTOK=$FC_SHARED/data/models/llava-1.5-7b-hf
if [ ! -f "$LTOK/tokenizer.json" ]; then skip "quality: $LTOK not found"; finish; exit; fi
HEADER='method,spec,ratio_x,kvpress_compression_ratio,n_samples,accuracy_exact,accuracy_contains,kl_mean,top1_agreement,greedy_identical,first_divergence_mean,kv_bytes_mean,kv_bytes_full_mean,achieved_ratio,n_records,n_tokens,kl_per_token,top1_per_token'
for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  # an option given twice is an error (issue 15), so the calls that set --images or --max-new-tokens
  # themselves start from QB
  QB=("$b/fc-eval" quality --model tests/fixtures/vlm/llava-tiny --tokenizer "$LTOK" --data $F/llava.json)
  Q=("${QB[@]}" --images $F/images --max-new-tokens 6)
  O=$TMPD/q
  rm -rf "$O"
  check_ok "$b quality" "${Q[@]}" --lenient --method knorm:ratio=1 streaming_llm:ratio=4 --out "$O"
  check_grep "$b table none" '^none +1x ' "$TMPD/out"
  check_grep "$b table streaming" '^streaming_llm:ratio=4 +4x ' "$TMPD/out"
  if [ "$(head -n 1 "$O/quality.csv")" = "$HEADER" ]; then pass "$b quality.csv header"; else fail "$b quality.csv header: $(head -n 1 "$O/quality.csv")"; fi
  # full cache first; it and keep-all: 5 questions (multi-turn-2 asks two) of 4 records, KL 0, top-1 1 (per
  # question and per token), greedy identical 1, achieved ratio 1
  check_grep "$b none row exact" '^none,none,1,0,5,[0-9.]+,[0-9.]+,0,1\.000000,1\.000000,[0-9.]+,([0-9.]+),\1,1,4,[0-9]+,0,1\.000000$' "$O/quality.csv"
  check_grep "$b keep-all row exact" '^knorm,"knorm:ratio=1,scope=all",1,0,5,[0-9.]+,[0-9.]+,0,1\.000000,1\.000000,.*,4,[0-9]+,0,1\.000000$' "$O/quality.csv"
  row=$(grep '^streaming_llm,' "$O/quality.csv")
  if echo "$row" | awk -F'"' '{print $3}' | awk -F, '{exit !($2==4 && $3==0.75 && $4==5 && $7>0 && $8<1 && $11<$12 && $13>3.5)}'; then
    pass "$b streaming_llm compresses"; else fail "$b streaming_llm row: $row"; fi
  n=$(($(wc -l <"$O/quality_samples.csv") - 1))
  if [ "$n" -eq 15 ]; then pass "$b samples rows"; else fail "$b quality_samples.csv has $n rows, want 5 questions x 3 methods"; fi
  check_grep "$b samples second turn" '^multi-turn-2,none,none,"Yes, both are\.",.*,2$' "$O/quality_samples.csv"
  check_grep "$b samples header" '^id,method,spec,answer,prediction,correct_exact,correct_contains,' "$O/quality_samples.csv"
  check_grep "$b samples multi-image id" '^multi-image-5,knorm,' "$O/quality_samples.csv"
  check_grep "$b json skipped" '"no image":[[:space:]]+1' "$O/quality.json"
  check_grep "$b json methods" '"methods":[[:space:]]+\["none", "knorm:ratio=1", "streaming_llm:ratio=4"\]' "$O/quality.json"
  check_grep "$b json version" '"fastcache":' "$O/quality.json"
  if ls -a "$O" | grep -q '\.tmp\.'; then fail "$b temporary files left in $O"; else pass "$b no temporary files"; fi
  # held out: CCM checkpoints with train_ids / val_ids (make_data_fixtures.py)
  check_ok "$b ccm held out" "${QB[@]}" --images $F/images --limit 3 --ccm $F/ccm_heldout.safetensors --max-new-tokens 2
  check_grep "$b ccm row" '^ccm:weights=' "$TMPD/out"
  check_error "$b ccm trained on an evaluated id" "ccm_trained_on_single1\.safetensors: 1 of the 3 evaluated ids are in its train_ids \(e\.g\. 'single-1'\): not held out; pass --allow-overlap" \
    "${Q[@]}" --limit 3 --ccm $F/ccm_trained_on_single1.safetensors
  check_error "$b ccm validated on an evaluated id" "in its val_ids \(e\.g\. 'assistant-3'\)" \
    "${Q[@]}" --limit 3 --method "ccm:weights=$F/ccm_validated_on_assistant3.safetensors"
  check_error "$b ccm without ids" "no train_ids/val_ids metadata" \
    "${Q[@]}" --limit 3 --ccm tests/fixtures/compress/ccm_llava_tiny_random.safetensors
  check_ok "$b ccm overlap allowed" "${QB[@]}" --images $F/images --limit 1 --ccm $F/ccm_trained_on_single1.safetensors --allow-overlap --max-new-tokens 2
  # bad input: one line, non-zero exit
  check_error "$b unknown method" "unknown compression method 'foo'" "${Q[@]}" --method foo:ratio=5
  check_error "$b record without image" "llava\.json: record 3 \(id 'text-only-4'\): no image" "${Q[@]}" --method knorm
  check_error "$b kv budget too small" "record 0 \(id 'single-1'\): needs [0-9]+ tokens of KV cache .*more than the KV budget of 100 bytes holds \(0 tokens" \
    "${Q[@]}" --limit 1 --method knorm --kv-budget 100
  check_error "$b no method" "give at least one --method" "${Q[@]}"
  # the option-table parser (issue 15): specs after --method keep command-line order; a word after any
  # other option's value is refused, not taken as a method
  check_error "$b specs in order" "unknown compression method 'foo1'" "${Q[@]}" --method knorm foo1 --method foo2
  check_error "$b word after another option" "quality: unexpected argument 'x'" "${Q[@]}" --method knorm --limit 3 x
  check_error "$b missing image" "image 'gqa/images/1\.png' not found" "${QB[@]}" --max-new-tokens 6 --images $F --method knorm
done
# MileBench: option letters; GQA: default suffix recorded
check_ok "quality milebench" "$FC_BIN/fc-eval" quality --model tests/fixtures/vlm/minicpmv-tiny --data $F/milebench \
  --method knorm:ratio=2 --max-new-tokens 4 --out "$TMPD/mb"
check_grep "milebench rows" '^knorm,"knorm:ratio=2,scope=all",2,0\.5,3,' "$TMPD/mb/quality.csv"
# window ties and pyramid budgets are reported (the tiny prompts are ~108 tokens: 5x keeps ~21 < window 64)
check_ok "quality window warning" "$FC_BIN/fc-eval" quality --model tests/fixtures/vlm/minicpmv-tiny --data $F/milebench \
  --method snapkv:ratio=5 pyramidkv:ratio=2,window=4 --max-new-tokens 2 --out "$TMPD/mbw"
check_grep "snapkv window warning" '^fc-eval: warning: snapkv:ratio=5: on 3 of 3 records the budget \([0-9]+ entries\) was below the window of 64' "$TMPD/err"
check_grep "pyramidkv budgets note" '^note: pyramidkv:ratio=2,window=4: per-layer budgets [0-9]+\.\.[0-9]+ entries' "$TMPD/out"
check_grep "pyramidkv budgets in json" '"first_record_layer_budgets":' "$TMPD/mbw/quality.json"
check_ok "quality gqa" "$FC_BIN/fc-eval" quality --model tests/fixtures/vlm/minicpmv-tiny --data $F/gqa_list.json \
  --images $F/gqa_images --method tova:ratio=2 --max-new-tokens 2 --out "$TMPD/gqa"
check_grep "gqa suffix" 'Answer the question using a single word or phrase\.' "$TMPD/gqa/quality.json"
finish
