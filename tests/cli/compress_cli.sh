#!/usr/bin/env bash
# compress_cli.sh: `fc-eval logits --method` and `fc-eval run --method`: the prompt's KV compressed between
# prefill and decode, the figures in the output (metadata / the "compress" line), errors as one line.
# The logits themselves are checked against kvpress in tests/unit/test_compress_e2e.c; here: the plumbing,
# the split (--compress-at / --hold-last), and that ratio 1 (keeps everything) changes nothing.
. "$(dirname "$0")/lib.sh"
E=tests/fixtures/compress/e2e_llama
F=tests/fixtures/vlm
LTOK=$FC_SHARED/data/models/llava-1.5-7b-hf
IMG=$FC_SHARED/data/gqa-demo/gqa/2316686.jpg
CCM=tests/fixtures/compress/ccm_llava_tiny_random.safetensors
IDS=$(seq -s, 1 120)  # 120 distinct ids of the tiny Llama's 512
meta() { "$1/fc-eval" inspect "$2" >"$TMPD/meta" 2>&1; }
for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  # logits: whole prompt compressed (default), knorm 2x of 120 -> 60; 8 blocks of 16 x 2 layers -> 4 x 2
  check_ok "$b logits --method knorm" "$b/fc-eval" logits --model $E --ids "$IDS" --steps 3 --method knorm:ratio=2 \
    --out "$TMPD/k.safetensors"
  meta "$b" "$TMPD/k.safetensors"
  check_grep "$b logits shape [T+3,V]" "logits +F32 +\[123,512\]" "$TMPD/meta"
  check_grep "$b method spelled out" "method: knorm:ratio=2,scope=all$" "$TMPD/meta"
  check_grep "$b compress_at = T" "compress_at: 120$" "$TMPD/meta"
  check_grep "$b kv tokens" "kv_tokens_after: 60$" "$TMPD/meta"
  check_grep "$b ratio" "ratio_achieved: 2$" "$TMPD/meta"
  check_grep "$b kvpress ratio" "kvpress_compression_ratio: 0.5$" "$TMPD/meta"
  check_grep "$b bytes before" "kv_bytes_before: 65536$" "$TMPD/meta"
  check_grep "$b bytes after" "kv_bytes_after: 32768$" "$TMPD/meta"
  # --hold-last: the last prompt token is fed after compression; SnapKV needs the prefill's queries
  check_ok "$b logits --hold-last snapkv" "$b/fc-eval" logits --model $E --ids "$IDS" --method snapkv:ratio=4,window=16 \
    --hold-last --out "$TMPD/s.safetensors"
  meta "$b" "$TMPD/s.safetensors"
  check_grep "$b hold-last compresses T-1" "compress_at: 119$" "$TMPD/meta"
  check_grep "$b snapkv 4x of 119" "kv_tokens_after: 29$" "$TMPD/meta"
  # PyramidKV: per-layer budgets (window 16, beta 2, 2x of 120: layers keep 90 and 30)
  check_ok "$b logits pyramidkv" "$b/fc-eval" logits --model $E --ids "$IDS" --method pyramidkv:ratio=2,window=16,beta=2 \
    --out "$TMPD/p.safetensors"
  meta "$b" "$TMPD/p.safetensors"
  check_grep "$b pyramid entries" "kv_entries_after: 120$" "$TMPD/meta"
  check_grep "$b pyramid longest layer" "kv_tokens_after: 90$" "$TMPD/meta"
  check_grep "$b pyramid bytes: 6 + 2 layer blocks" "kv_bytes_after: 32768$" "$TMPD/meta"
  # ratio 1 keeps everything: the same logits file content as no method
  check_ok "$b logits plain" "$b/fc-eval" logits --model $E --ids "$IDS" --steps 3 --out "$TMPD/a.safetensors"
  check_ok "$b logits ratio 1" "$b/fc-eval" logits --model $E --ids "$IDS" --steps 3 --method knorm:ratio=1 \
    --out "$TMPD/b.safetensors"
  # the data sections (the files' last bytes: logits [123,512] f32 and tokens [123] i32) must be identical
  n=$((123 * 512 * 4 + 123 * 4))
  if cmp -s <(tail -c $n "$TMPD/a.safetensors") <(tail -c $n "$TMPD/b.safetensors"); then
    pass "$b ratio 1 = no compression"; else fail "$b ratio 1 = no compression (logits differ)"; fi
  # split prompt (a second forward for tokens 100..119, at their original positions): same greedy tokens
  check_ok "$b logits ratio 1 split" "$b/fc-eval" logits --model $E --ids "$IDS" --steps 3 --method knorm:ratio=1 \
    --compress-at 100 --out "$TMPD/c.safetensors"
  meta "$b" "$TMPD/a.safetensors"; grep '^ *tokens:' "$TMPD/meta" >"$TMPD/ta"
  meta "$b" "$TMPD/c.safetensors"
  check_grep "$b split prompt: same greedy tokens" "^$(cat "$TMPD/ta")\$" "$TMPD/meta"
  check_error "$b unknown method" "unknown compression method 'snap'" "$b/fc-eval" logits --model $E --ids 1,2,3 \
    --method snap --out "$TMPD/x.safetensors"
  check_error "$b hold-last without method" "--compress-at, --hold-last and --no-hold-last need --method" "$b/fc-eval" logits \
    --model $E --ids 1,2,3 --hold-last --out "$TMPD/x.safetensors"
  check_error "$b compress-at past the prompt" "--compress-at: would compress the first 4 tokens, but the prompt has 3 \(want 1..3\)" "$b/fc-eval" logits \
    --model $E --ids 1,2,3 --method knorm --compress-at 4 --out "$TMPD/x.safetensors"
  check_error "$b hold-last of one token" "--hold-last: would compress the first 0 tokens" "$b/fc-eval" logits \
    --model $E --ids 7 --method knorm --hold-last --out "$TMPD/x.safetensors"
  check_error "$b compress-at 0" "--compress-at" "$b/fc-eval" logits --model $E --ids 1,2,3 --method knorm \
    --compress-at 0 --out "$TMPD/x.safetensors"
  check_error "$b window longer than the prompt" "snapkv: layer 0: prefix of 3 tokens must be longer than the window" \
    "$b/fc-eval" logits --model $E --ids 1,2,3 --method snapkv --out "$TMPD/x.safetensors"
  [ -f "$TMPD/x.safetensors" ] && fail "$b a failed run left its output" || pass "$b failed runs leave no output"
  check_error "$b run: bad spec fails before loading" "knorm: option 'ratio' = '0'" "$b/fc-eval" run \
    --model "$TMPD/no-such-model" --image x.jpg --prompt q --method knorm:ratio=0
  # run: a VLM request, image spans from its layout (llava-tiny: 34 tokens, image [5, 21))
  if [ ! -f "$LTOK/tokenizer.json" ] || [ ! -f "$IMG" ]; then skip "$b run --method: no $LTOK or $IMG"; continue; fi
  RUN=("$b/fc-eval" run --model $F/llava-tiny --tokenizer "$LTOK" --image "$IMG" --prompt "What is on the table?"
       --max-new-tokens 6 --print-ids)
  check_ok "$b run plain" "${RUN[@]}"
  cp "$TMPD/out" "$TMPD/plain"
  check_ok "$b run ratio 1" "${RUN[@]}" --method knorm:ratio=1
  check_grep "$b run ratio 1 line" "^compress knorm:ratio=1,scope=all: 34 -> 34 tokens per layer \(1x achieved" "$TMPD/out"
  if [ "$(tail -n 1 "$TMPD/out")" = "$(cat "$TMPD/plain")" ]; then pass "$b run ratio 1 = plain answer"
  else fail "$b run ratio 1 = plain answer: $(tail -n 1 "$TMPD/out") vs $(cat "$TMPD/plain")"; fi
  check_ok "$b run scope=image" "${RUN[@]}" --method knorm:ratio=4,scope=image
  check_grep "$b scope=image keeps text" "34 -> 22 tokens per layer .*KV 12288 -> 8192 bytes" "$TMPD/out"
  check_ok "$b run snapkv --hold-last" "${RUN[@]}" --method snapkv:ratio=2,window=8 --hold-last
  check_grep "$b snapkv hold-last" "33 -> 16 tokens per layer" "$TMPD/out"
  # ccm_holds_last_by_default: ccm is trained (fc-train) and scored (fc-eval quality) with the prompt's last
  # token held back, so run/logits hold it too unless --no-hold-last: 34 prompt tokens, 33 cached, the same
  # 8 windows of cf 4 (in width 32 -> 8) merged to one each: 33 - 24 = 9 (whole prompt: 34 - 24 = 10)
  check_ok "$b run ccm" "${RUN[@]}" --method "ccm:weights=$CCM"
  check_grep "$b ccm holds the last token by default" "^compress ccm:.*33 -> 9 tokens per layer .*KV 12288 -> 4096 bytes" "$TMPD/out"
  tail -n 1 "$TMPD/out" >"$TMPD/ccm_default"
  check_ok "$b run ccm --hold-last" "${RUN[@]}" --method "ccm:weights=$CCM" --hold-last
  if [ "$(tail -n 1 "$TMPD/out")" = "$(cat "$TMPD/ccm_default")" ]; then pass "$b run ccm default = --hold-last answer"
  else fail "$b run ccm default = --hold-last answer: $(cat "$TMPD/ccm_default") vs $(tail -n 1 "$TMPD/out")"; fi
  check_ok "$b run ccm --no-hold-last" "${RUN[@]}" --method "ccm:weights=$CCM" --no-hold-last
  check_grep "$b ccm line" "^compress ccm:.*34 -> 10 tokens per layer .*KV 12288 -> 4096 bytes" "$TMPD/out"
  check_error "$b run both hold flags" "at most one of --hold-last and --no-hold-last" "${RUN[@]}" \
    --method "ccm:weights=$CCM" --hold-last --no-hold-last
  check_error "$b run no-hold-last without method" "--no-hold-last needs --method" "${RUN[@]}" --no-hold-last
  LOG=("$b/fc-eval" logits --model $F/llava-tiny --tokenizer "$LTOK" --image "$IMG" --text "What is on the table?"
       --method "ccm:weights=$CCM")
  check_ok "$b logits ccm" "${LOG[@]}" --out "$TMPD/c.safetensors"
  meta "$b" "$TMPD/c.safetensors"
  check_grep "$b logits ccm holds the last token by default" "compress_at: 33$" "$TMPD/meta"
  check_ok "$b logits ccm --no-hold-last" "${LOG[@]}" --no-hold-last --out "$TMPD/c.safetensors"
  meta "$b" "$TMPD/c.safetensors"
  check_grep "$b logits ccm --no-hold-last compresses all" "compress_at: 34$" "$TMPD/meta"
  check_grep "$b logits ccm --no-hold-last kv tokens" "kv_tokens_after: 10$" "$TMPD/meta"
  check_error "$b logits two split options" "at most one of --compress-at, --hold-last and --no-hold-last" \
    "${LOG[@]}" --compress-at 30 --no-hold-last --out "$TMPD/c.safetensors"
  check_error "$b run hold-last without method" "--hold-last needs --method" "${RUN[@]}" --hold-last
  check_error "$b run ccm of another head dim" "ccm" "${RUN[@]}" --method ccm:weights=tests/fixtures/compress/ccm_weights.safetensors
done
finish
