#!/usr/bin/env bash
# llm.sh: `fc-eval logits` and `fc-eval generate` on the tiny decoders of tests/fixtures/llm: greedy tokens
# equal transformers' (cli.txt, written by tools/make_llm_fixtures.py), the output file's layout, --text
# through a real tokenizer (release build), and errors for bad input. Release and ASan builds.
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/llm
field() { grep "^$2 " "$FIX/$1/cli.txt" | cut -d' ' -f2; }

# a folder with the tiny Qwen2 model and MiniCPM-V's tokenizer files ("x=1" -> 87 28 16, inside the vocab)
QT=$TMPD/qwen2_tok
mkdir -p "$QT"
ln -s "$PWD/$FIX/qwen2_odd/config.json" "$PWD/$FIX/qwen2_odd/model.safetensors" "$QT/"
for f in vocab.json merges.txt tokenizer_config.json special_tokens_map.json added_tokens.json; do
  [ -f "$FC_SHARED/data/models/minicpm-v-2_6/$f" ] && ln -s "$(cd "$FC_SHARED" && pwd)/data/models/minicpm-v-2_6/$f" "$QT/"
done

for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  for m in llama_plain qwen2_odd qwen2_bf16; do
    ids=$(field $m ids); toks=$(field $m tokens)
    n_prompt=$(echo "$ids" | tr ',' '\n' | wc -l)
    # logits: prompt + 5 greedy steps; the tokens fed back are transformers' greedy tokens
    check_ok "$b logits $m" "$b/fc-eval" logits --model "$FIX/$m" --ids "$ids" --steps 5 --out "$TMPD/$m.safetensors"
    want="$ids,$(echo "$toks" | cut -d, -f1-5)"
    check_ok "$b inspect logits file $m" "$b/fc-eval" inspect "$TMPD/$m.safetensors"
    check_grep "$b $m tokens metadata = transformers greedy" "tokens: $want\$" "$TMPD/out"
    check_grep "$b $m logits shape [T+5,V]" "logits +F32 +\[$((n_prompt + 5)),[0-9]+\]" "$TMPD/out"
    check_grep "$b $m prompt_tokens" "prompt_tokens: $n_prompt\$" "$TMPD/out"
    # generate: greedy ids equal transformers'
    check_ok "$b generate $m" "$b/fc-eval" generate --model "$FIX/$m" --ids "$ids" --max-new-tokens 6 --print-ids
    check_grep "$b $m generated = transformers greedy" "^$(echo "$toks" | tr ',' ' ')\$" "$TMPD/out"
  done
  # --text through the tokenizer, greedy, then sampled twice with one seed (same output) and another seed
  # release build only: loading the 151k-entry Qwen2 tokenizer under ASan takes minutes
  if [ "$b" != "$FC_BIN" ]; then
    :
  elif [ -f "$QT/vocab.json" ]; then
    check_ok "$b generate --text" "$b/fc-eval" generate --model "$QT" --text "x=1" --max-new-tokens 6 --print-ids
    check_grep "$b generate --text = transformers greedy" "^$(field qwen2_odd x=1 | tr ',' ' ')\$" "$TMPD/out"
    check_ok "$b generate text output" "$b/fc-eval" generate --model "$QT" --text "x=1" --max-new-tokens 4
    for s in 1 1 2; do
      check_ok "$b sample seed $s" "$b/fc-eval" generate --model "$QT" --text "x=1" --max-new-tokens 8 \
        --temperature 1.3 --top-k 40 --top-p 0.9 --seed $s --print-ids
      cp "$TMPD/out" "$TMPD/sample_$s.$RANDOM"
    done
    if [ "$(cat "$TMPD"/sample_1.* | sort -u | wc -l)" = 1 ]; then pass "$b same seed, same tokens"; else fail "$b same seed, different tokens"; fi
    check_ok "$b logits --text" "$b/fc-eval" logits --model "$QT" --text "x=1" --out "$TMPD/t.safetensors"
    rm -f "$TMPD"/sample_*
  else
    skip "$b generate --text (no MiniCPM-V tokenizer in $FC_SHARED)"
  fi
  check_error "$b logits without --out" "--out FILE are required" "$b/fc-eval" logits --model "$FIX/llama_plain" --ids 1,2
  check_error "$b logits bad ids" "--ids: '1x' at offset 2" "$b/fc-eval" logits --model "$FIX/llama_plain" --ids 3,1x --out "$TMPD/x.safetensors"
  check_error "$b logits id outside vocab" "id 300, outside the vocabulary \[0, 300\)" "$b/fc-eval" logits --model "$FIX/llama_plain" --ids 3,300 --out "$TMPD/x.safetensors"
  check_error "$b logits missing model" "no_such_model" "$b/fc-eval" logits --model "$TMPD/no_such_model" --ids 3 --out "$TMPD/x.safetensors"
  check_error "$b generate top-p out of range" "--top-p" "$b/fc-eval" generate --model "$FIX/llama_plain" --ids 3 --top-p 1.5
  # issue 10, defect 1: a temperature whose logit/temperature overflows float is refused, not sampled
  check_error "$b generate tiny temperature (issue 10 defect 1)" "--temperature 1e-44: .*overflow" "$b/fc-eval" generate --model "$FIX/llama_plain" --ids 1,5,9 --max-new-tokens 4 --temperature 1e-44
  check_ok "$b generate temperature at the floor" "$b/fc-eval" generate --model "$FIX/llama_plain" --ids 1,5,9 --max-new-tokens 4 --temperature 1e-6 --print-ids
  check_error "$b generate --text without tokenizer" "." "$b/fc-eval" generate --model "$FIX/llama_plain" --text hello
  [ -e "$TMPD/x.safetensors" ] && fail "$b a failed run left an output file" || pass "$b no output file after failures"
done
finish
