#!/usr/bin/env bash
# tokenize.sh: `fc-eval tokenize` on the two real tokenizer folders: the reference's verified LLaVA ids,
# --no-special, --decode, --file, and clean one-line errors on bad input.
. "$(dirname "$0")/lib.sh"
LL=$FC_SHARED/data/models/llava-1.5-7b-hf
MC=$FC_SHARED/data/models/minicpm-v-2_6
printf 'USER: <image>\nWhat are these? ASSISTANT:' >"$TMPD/prompt.txt"
printf '1 3148 1001\n29901' >"$TMPD/ids.txt"
for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  # reference §2.6 (verified with Rust tokenizers)
  check_ok "$b llava ids" "$b/fc-eval" tokenize --model "$LL" --file "$TMPD/prompt.txt"
  check_grep "$b llava 17 ids" '^1 3148 1001 29901 29871 32000 29871 13 5618 526 1438 29973 319 1799 9047 13566 29901$' "$TMPD/out"
  check_ok "$b llava no-special" "$b/fc-eval" tokenize --model "$LL" --text "Hello this is a test" --no-special
  check_grep "$b llava no BOS" '^15043 445 338 263 1243$' "$TMPD/out"
  check_ok "$b llava decode" "$b/fc-eval" tokenize --model "$LL" --decode --text "1 15043 445 338 263 1243" --no-special
  check_grep "$b llava decoded text" '^Hello this is a test$' "$TMPD/out"
  check_ok "$b llava decode file" "$b/fc-eval" tokenize --model "$LL" --decode --file "$TMPD/ids.txt"
  check_grep "$b llava decode keeps <s>" '^<s> USER:$' "$TMPD/out"
  # Qwen2: no BOS; <|im_start|> and <unk> are added tokens (ids from tokenizer_config.json)
  check_ok "$b minicpmv ids" "$b/fc-eval" tokenize --model "$MC" --text "<|im_start|>user
Hi<unk>"
  check_grep "$b minicpmv ids line" '^151644 872 198 13048 128244$' "$TMPD/out"
  check_ok "$b minicpmv decode" "$b/fc-eval" tokenize --model "$MC" --decode --text "151644 872 198 13048 128244"
  check_grep "$b minicpmv decoded" '^Hi<unk>$' "$TMPD/out"
  check_error "$b no model" 'model DIR is required' "$b/fc-eval" tokenize --text hi
  check_error "$b text and file" 'exactly one of --text and --file' "$b/fc-eval" tokenize --model "$LL"
  check_error "$b missing dir" 'no tokenizer.json' "$b/fc-eval" tokenize --model "$TMPD" --text hi
  # ids with no token are skipped, as tokenizers 0.22.2 does ('<s> Hello this' with special tokens kept)
  check_ok "$b ids without a token" "$b/fc-eval" tokenize --model "$LL" --decode --text "1 15043 32023 445 99999999"
  check_grep "$b ids without a token skipped" '^<s> Hello this$' "$TMPD/out"
  check_error "$b not an id" "'x' at offset 2 is not a token id" "$b/fc-eval" tokenize --model "$LL" --decode --text "1 x"
  check_error "$b missing file" 'nope.txt' "$b/fc-eval" tokenize --model "$LL" --file "$TMPD/nope.txt"
  check_error "$b unknown option" "unknown option '--frob'" "$b/fc-eval" tokenize --model "$LL" --frob
done
finish
