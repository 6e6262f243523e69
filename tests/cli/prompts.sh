#!/usr/bin/env bash
# prompts.sh: issue 15: `fc-eval logits --prompts` and `fc-eval generate --prompts` run a file of prompts in
# batches through the batched forward, and every prompt's result equals the same prompt run alone (the
# single-prompt options, and --batch 1): tokens exactly, logits within a float tolerance. Text and ids
# prompts on the tiny decoders, image prompts on the tiny MiniCPM-V; release build, then the ASan build
# once on each path.
#
# Tolerance 1e-5 + 1e-5 |ref| (fc-eval compare): a batch changes the row count of every matrix product
# (other sgemm blockings and MLP row chunks), so f32 sums run in another order; measured at most 1.9e-6 on
# llama_plain's logits. A row taken from the wrong sequence or position differs by O(1).
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/llm
F=tests/fixtures/vlm
GQA=$FC_SHARED/data/gqa-demo/gqa
TOL=(--atol 1e-5 --rtol 1e-5)

# the tiny Qwen2 decoder with MiniCPM-V's tokenizer files, for text prompts (as llm.sh)
QT=$TMPD/qwen2_tok
mkdir -p "$QT"
ln -s "$PWD/$FIX/qwen2_odd/config.json" "$PWD/$FIX/qwen2_odd/model.safetensors" "$QT/"
for f in vocab.json merges.txt tokenizer_config.json special_tokens_map.json added_tokens.json; do
  [ -f "$FC_SHARED/data/models/minicpm-v-2_6/$f" ] && ln -s "$(cd "$FC_SHARED" && pwd)/data/models/minicpm-v-2_6/$f" "$QT/"
done

cat >"$TMPD/ids.jsonl" <<'P'
{"id": "a", "ids": [1, 5, 9, 20, 33, 7]}
{"id": "b", "ids": [1, 100, 200]}

{"id": "c", "ids": [1, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 60]}
{"ids": [2]}
P
ids_of() { case $1 in a) echo 1,5,9,20,33,7 ;; b) echo 1,100,200 ;; c) echo 1,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,60 ;; 5) echo 2 ;; esac; }
# plain lines are text as written ("[1]" too: only '{' starts JSON); every token inside qwen2_odd's 200
printf 'x=1\n{"id": "q", "text": "y=2"}\n[1]\n' >"$TMPD/text.txt"
text_of() { case $1 in 1) echo 'x=1' ;; q) echo 'y=2' ;; 3) echo '[1]' ;; esac; }
printf '{"id": "two", "text": "Which differ?", "images": ["%s", "%s"]}\n{"id": "one", "text": "Is the sky blue?", "images": ["%s"]}\n' \
  "$F/small.png" "$GQA/2316686.jpg" "$F/small.png" >"$TMPD/img.jsonl"

b=$FC_BIN E=$FC_BIN/fc-eval
# logits: ids prompts, batch 8 (all four together) and batch 1, against the single-prompt option
check_ok "$b logits --prompts ids" "$E" logits --model $FIX/llama_plain --prompts "$TMPD/ids.jsonl" --steps 5 --out "$TMPD/L8"
check_ok "$b logits --prompts ids --batch 1" "$E" logits --model $FIX/llama_plain --prompts "$TMPD/ids.jsonl" --steps 5 \
  --batch 1 --out "$TMPD/L1"
for id in a b c 5; do
  check_ok "$b logits --ids $id alone" "$E" logits --model $FIX/llama_plain --ids "$(ids_of $id)" --steps 5 --out "$TMPD/s_$id.safetensors"
  check_ok "$b batched $id = alone" "$E" compare "$TMPD/L8/$id.safetensors" "$TMPD/s_$id.safetensors" "${TOL[@]}"
  check_ok "$b batch 1 $id = alone" "$E" compare "$TMPD/L1/$id.safetensors" "$TMPD/s_$id.safetensors" "${TOL[@]}"
done
check_ok "$b inspect a batched file" "$E" inspect "$TMPD/L8/c.safetensors"
check_grep "$b the file names its id" '^  id: c$' "$TMPD/out"
# logits: text prompts (plain lines kept as written, JSON text)
check_ok "$b logits --prompts text" "$E" logits --model "$QT" --prompts "$TMPD/text.txt" --steps 2 --out "$TMPD/T"
for id in 1 q 3; do
  check_ok "$b logits --text $id alone" "$E" logits --model "$QT" --text "$(text_of $id)" --steps 2 --out "$TMPD/t_$id.safetensors"
  check_ok "$b text batched $id = alone" "$E" compare "$TMPD/T/$id.safetensors" "$TMPD/t_$id.safetensors" "${TOL[@]}"
done
# generate: greedy and sampled, batched = batch 1 = alone (each prompt draws from stream 0 of its seed)
for mode in greedy sampled; do
  opts=(--max-new-tokens 6); [ $mode = sampled ] && opts+=(--temperature 0.9 --top-k 50 --seed 5)
  check_ok "$b generate --prompts $mode" "$E" generate --model $FIX/llama_plain --prompts "$TMPD/ids.jsonl" "${opts[@]}"
  cp "$TMPD/out" "$TMPD/g8.txt"
  check_ok "$b generate --prompts $mode --batch 1" "$E" generate --model $FIX/llama_plain --prompts "$TMPD/ids.jsonl" \
    --batch 1 "${opts[@]}"
  if cmp -s "$TMPD/out" "$TMPD/g8.txt" && [ "$(wc -l <"$TMPD/g8.txt")" -eq 4 ]; then pass "$b generate $mode: batch 8 = batch 1"
  else fail "$b generate $mode: batch 8 != batch 1: $(cat "$TMPD/g8.txt") vs $(cat "$TMPD/out")"; fi
  for id in a b c 5; do
    check_ok "$b generate $mode $id alone" "$E" generate --model $FIX/llama_plain --ids "$(ids_of $id)" "${opts[@]}" --print-ids
    want="{\"id\":\"$id\",\"ids\":[$(tr ' ' ',' <"$TMPD/out")]}"
    check_grep "$b generate $mode $id batched = alone" "^$(printf '%s' "$want" | sed 's/[][]/\\&/g')\$" "$TMPD/g8.txt"
  done
done
check_ok "$b generate --prompts text" "$E" generate --model "$QT" --prompts "$TMPD/text.txt" --max-new-tokens 4
check_grep "$b generate text line has id, text, ids" '^\{"id":"q","text":".*","ids":\[[0-9,]+\]\}$' "$TMPD/out"
# images: logits and generate against the single-image / multi-image options and run
check_ok "$b logits --prompts images" "$E" logits --model $F/minicpmv-tiny --prompts "$TMPD/img.jsonl" --steps 3 --out "$TMPD/I"
check_ok "$b logits two images alone" "$E" logits --model $F/minicpmv-tiny --image $F/small.png --image "$GQA/2316686.jpg" \
  --text "Which differ?" --steps 3 --out "$TMPD/i_two.safetensors"
check_ok "$b image prompt batched = alone" "$E" compare "$TMPD/I/two.safetensors" "$TMPD/i_two.safetensors" "${TOL[@]}"
check_ok "$b generate --prompts images" "$E" generate --model $F/minicpmv-tiny --prompts "$TMPD/img.jsonl" --max-new-tokens 5
cp "$TMPD/out" "$TMPD/gi.txt"
check_ok "$b run one image" "$E" run --model $F/minicpmv-tiny --image $F/small.png --prompt "Is the sky blue?" \
  --max-new-tokens 5 --print-ids
check_grep "$b generate image prompt = run's answer" "^\{\"id\":\"one\",.*\"ids\":\[$(tr ' ' ',' <"$TMPD/out")\]\}\$" "$TMPD/gi.txt"
# --method: each prompt prefilled and compressed alone, decode steps batched
C=tests/fixtures/compress/e2e_llama
ids1=$(seq -s, 1 64) ids2=$(seq -s, 101 140)
printf '{"id": "m1", "ids": [%s]}\n{"id": "m2", "ids": [%s]}\n' "$ids1" "$ids2" >"$TMPD/m.jsonl"
check_ok "$b logits --prompts --method" "$E" logits --model $C --prompts "$TMPD/m.jsonl" --method snapkv:ratio=2,window=8 \
  --hold-last --steps 3 --out "$TMPD/M"
for k in 1 2; do
  v=ids$k
  check_ok "$b logits --method m$k alone" "$E" logits --model $C --ids "${!v}" --method snapkv:ratio=2,window=8 --hold-last \
    --steps 3 --out "$TMPD/m$k.safetensors"
  check_ok "$b --method m$k batched = alone" "$E" compare "$TMPD/M/m$k.safetensors" "$TMPD/m$k.safetensors" "${TOL[@]}"
done
check_ok "$b inspect a compressed batched file" "$E" inspect "$TMPD/M/m2.safetensors"
check_grep "$b its metadata has the method" '^  method: snapkv' "$TMPD/out"

# the ASan build on each path once (batched prefill, batched decode, images, sampling), against the release
# build's single-prompt results above
b=$FC_ASAN_BIN E=$FC_ASAN_BIN/fc-eval
check_ok "$b logits --prompts ids" "$E" logits --model $FIX/llama_plain --prompts "$TMPD/ids.jsonl" --steps 5 --out "$TMPD/A8"
for id in a c 5; do
  check_ok "$b batched $id = alone" "$FC_BIN/fc-eval" compare "$TMPD/A8/$id.safetensors" "$TMPD/s_$id.safetensors" "${TOL[@]}"
done
check_ok "$b generate --prompts sampled" "$E" generate --model $FIX/llama_plain --prompts "$TMPD/ids.jsonl" \
  --max-new-tokens 6 --temperature 0.9 --top-k 50 --seed 5
if cmp -s "$TMPD/out" "$TMPD/g8.txt"; then pass "$b generate sampled = release"; else fail "$b generate sampled differs from release"; fi
check_ok "$b logits --prompts images" "$E" logits --model $F/minicpmv-tiny --prompts "$TMPD/img.jsonl" --steps 3 --out "$TMPD/AI"
check_ok "$b image prompt batched = alone" "$FC_BIN/fc-eval" compare "$TMPD/AI/two.safetensors" "$TMPD/i_two.safetensors" "${TOL[@]}"
check_ok "$b generate --prompts images" "$E" generate --model $F/minicpmv-tiny --prompts "$TMPD/img.jsonl" --max-new-tokens 5
if cmp -s "$TMPD/out" "$TMPD/gi.txt"; then pass "$b generate images = release"; else fail "$b generate images differs from release"; fi

# bad input: one line naming the file and line
E=$FC_BIN/fc-eval
printf '{"id": "a", "ids": [1]}\n{"txt": "x"}\n' >"$TMPD/bad.jsonl"
check_error "prompts: unknown key" "bad\.jsonl:2: unknown key 'txt'" "$E" logits --model $FIX/llama_plain --prompts "$TMPD/bad.jsonl" --out "$TMPD/x"
printf '{"id": "a", "ids": [1]}\n{"id": "a", "ids": [2]}\n' >"$TMPD/dup.jsonl"
check_error "prompts: duplicate id" "dup\.jsonl:2: id 'a' is also on line 1" "$E" generate --model $FIX/llama_plain --prompts "$TMPD/dup.jsonl"
printf '{"id": "a", "ids": [1]}\n{"id": "b", "ids": [400]}\n' >"$TMPD/vocab.jsonl"
check_error "prompts: id outside the vocabulary" "id 400, outside the vocabulary" "$E" logits --model $FIX/llama_plain \
  --prompts "$TMPD/vocab.jsonl" --out "$TMPD/v"
printf '{"id": "a", "text": "hi", "images": ["%s"]}\n{"id": "b", "text": "hi", "images": ["%s/none.png"]}\n' "$F/small.png" "$TMPD" >"$TMPD/noimg.jsonl"
check_error "prompts: missing image names the line" "noimg\.jsonl:2: .*none\.png" "$E" generate --model $F/minicpmv-tiny \
  --prompts "$TMPD/noimg.jsonl" --max-new-tokens 2
check_error "prompts: text without a tokenizer" "llama_plain: no tokenizer\.json" "$E" generate --model $FIX/llama_plain \
  --prompts "$TMPD/text.txt"
check_error "prompts: missing file" "no-such\.jsonl" "$E" generate --model $FIX/llama_plain --prompts "$TMPD/no-such.jsonl"
check_error "prompts with --text" "--prompts FILE replaces" "$E" logits --model $FIX/llama_plain --prompts "$TMPD/ids.jsonl" \
  --text hi --out "$TMPD/x"
check_error "--batch without --prompts" "--batch goes with --prompts" "$E" generate --model $FIX/llama_plain --ids 1 --batch 2
touch "$TMPD/afile"
check_error "logits --prompts --out is a file" "--out .*afile: not a folder" "$E" logits --model $FIX/llama_plain \
  --prompts "$TMPD/ids.jsonl" --out "$TMPD/afile"
finish
