#!/usr/bin/env bash
# corpus.sh: `fc-eval inspect` on every safetensors case of the bad-input corpus (tests/corpus/safetensors,
# see its README) fails with one line naming the file and the problem, in the release and the ASan+UBSan
# build; and inspect succeeds on the real model folders in ../shared/data/models (index only, shards absent).
. "$(dirname "$0")/lib.sh"
C=tests/corpus/safetensors
# case | regex the error must match (after the file name)
cases=(
  "truncated.safetensors|truncated\.safetensors: tensor 'lm_head\.weight': data_offsets \[16,28\] run past the data area of 23 bytes"
  "header_len_too_big.safetensors|header_len_too_big\.safetensors: header length 4096 > file size"
  "header_len_absurd.safetensors|header_len_absurd\.safetensors: header length 9223372036854775808 exceeds the limit"
  "offsets_out_of_range.safetensors|offsets_out_of_range\.safetensors: tensor 't': data_offsets \[64,72\] run past the data area of 8 bytes"
  "overlap.safetensors|overlap\.safetensors: tensors 'a' \[0,8\] and 'b' \[4,12\] overlap"
  "unknown_dtype.safetensors|unknown_dtype\.safetensors: tensor 't': unknown dtype 'F128'"
  "shape_mismatch.safetensors|shape_mismatch\.safetensors: tensor 'lm_head\.weight': shape \[32000,4096\] x F16 = 262144000 bytes but data_offsets span 100"
  "negative_dim.safetensors|negative_dim\.safetensors: tensor 't': shape\[1\] is negative"
  "invalid_json.safetensors|invalid_json\.safetensors: header is not valid JSON"
  "invalid_utf8.safetensors|invalid_utf8\.safetensors: header is not valid UTF-8 at byte offset 11"
  "header_not_object.safetensors|header_not_object\.safetensors: header is not a JSON object"
  "duplicate_name.safetensors|duplicate_name\.safetensors: tensor 't' appears twice"
  "metadata_not_strings.safetensors|metadata_not_strings\.safetensors: __metadata__ 'step': value is not a string"
  "empty.safetensors|empty\.safetensors: empty file"
  "too_short.safetensors|too_short\.safetensors: file is 3 bytes, too short"
  "index_missing_shard|index_missing_shard/model\.safetensors\.index\.json: shard 'model-00002-of-00002\.safetensors' is missing"
  "index_absent_tensor|index_absent_tensor/model\.safetensors\.index\.json: tensor 'model\.embed_tokens\.weight' is listed in shard 'model-00001-of-00002\.safetensors' but absent"
  "index_escape|index_escape/model\.safetensors\.index\.json: .*shard path '\.\./model-00002-of-00002\.safetensors' escapes the checkpoint folder"
  "no_model_files|no_model_files: folder holds no model\.safetensors or model\.safetensors\.index\.json"
)
n_files=$(ls "$C" | grep -vcE '^(VERSIONS|README)')
if [ "$n_files" -eq ${#cases[@]} ]; then pass "every corpus case has a check"
else fail "corpus has $n_files cases but this script checks ${#cases[@]}"; fi
for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  for c in "${cases[@]}"; do
    f=${c%%|*} re=${c#*|}
    check_error "$b inspect $f" "^fc-eval: error: $C/$re" "$b/fc-eval" inspect "$C/$f"
  done
  # the index of the missing-shard case is refused the same way when named directly
  check_error "$b inspect index json" "index_missing_shard/model\.safetensors\.index\.json: shard .* is missing" \
    "$b/fc-eval" inspect "$C/index_missing_shard/model.safetensors.index.json"
  for m in llava-1.5-7b-hf minicpm-v-2_6; do
    d=$FC_SHARED/data/models/$m
    if [ ! -d "$d" ]; then skip "$b inspect $m: $d not found"; continue; fi
    check_ok "$b inspect $m" "$b/fc-eval" inspect "$d"
    check_grep "$b inspect $m: shards absent" 'index only: the [0-9]+ shards it names are absent' "$TMPD/out"
    check_grep "$b inspect $m: config" '^  hidden_size: (4096|3584)$' "$TMPD/out"
    check_ok "$b inspect $m --json" "$b/fc-eval" inspect "$d" --json --filter lm_head
    check_grep "$b inspect $m --json lists lm_head" '"name":[[:space:]]+"(language_model\.)?lm_head\.weight"' "$TMPD/out"
  done
  check_ok "$b inspect sharded fixture" "$b/fc-eval" inspect tests/fixtures/safetensors/sharded
  check_grep "$b inspect sharded fixture totals" '^totals: 4 tensors, 24 parameters, 48 bytes$' "$TMPD/out"
  check_grep "$b inspect sharded fixture rows" '^  lm_head\.weight +BF16 +\[4,2\] +16  model-00002-of-00002\.safetensors$' "$TMPD/out"
done
finish
