#!/usr/bin/env bash
# methods_budgets.sh: the claims of `fc-eval methods` about what kvpress keeps, against kvpress 0.5.5 itself:
# tests/fixtures/data/kvpress_budgets.txt (tools/make_data_fixtures.py: compute_n_kept and
# PyramidKVPress.get_layer_budget) lists the entries kept per layer; `fc-eval methods --check SPEC --tokens S
# --layers L` must print the same, and the notes must say what happens (window ties, uniform fallback).
. "$(dirname "$0")/lib.sh"
B=tests/fixtures/data/kvpress_budgets.txt
E=$FC_BIN/fc-eval
while IFS= read -r line; do
  case $line in \#*) continue ;; esac
  read -r m r S L _ <<<"${line%%|*}"
  want=$(echo "${line#*| }" | tr -s ' ')
  if ! "$E" methods --check "$m:ratio=$r" --tokens "$S" --layers "$L" >"$TMPD/out" 2>"$TMPD/err"; then
    fail "$m ratio $r on $S tokens: $(cat "$TMPD/err")"; continue
  fi
  got=$(sed -n 's/^per-layer budgets: //p' "$TMPD/out")
  if [ -z "$got" ]; then # a uniform method prints "keeps N per kv head per layer"
    n=$(sed -n 's/^on [0-9]* tokens, [0-9]* layers: keeps \([0-9]*\) per kv head.*/\1/p' "$TMPD/out")
    got=$(for ((i = 0; i < L; i++)); do printf '%s ' "$n"; done | sed 's/ $//')
  fi
  if [ "$got" = "$want" ]; then pass "$m ratio $r, $S tokens, $L layers"
  else fail "$m ratio $r, $S tokens, $L layers: got '$got', kvpress keeps '$want'"; fi
done <"$B"
check_ok "snapkv below window" "$E" methods --check snapkv:ratio=5 --tokens 100
check_grep "snapkv window note" 'note: snapkv: a budget of 19 entries on 100 tokens is below the window of 64' "$TMPD/out"
check_ok "snapkv window kept" "$E" methods --check snapkv:ratio=5 --tokens 600
if grep -q '^note:' "$TMPD/out"; then fail "snapkv 600 tokens: unexpected note $(cat "$TMPD/out")"; else pass "snapkv 600 tokens keeps its window"; fi
check_ok "pyramidkv fallback" "$E" methods --check pyramidkv:ratio=5 --tokens 600 --layers 32
check_grep "pyramidkv fallback note" 'uniform fallback \(S\*\(1-cr\)/beta = 6 < window 64\), every layer keeps 120' "$TMPD/out"
check_ok "methods text" "$E" methods
check_grep "methods text ratio" '100 tokens keep 19' "$TMPD/out"
check_grep "methods text pyramid" 'no pyramid forms on prompts under 1280 x R tokens' "$TMPD/out"
check_error "tokens without check" "--tokens and --layers need --check" "$E" methods --tokens 5
check_error "tokens out of range" "--tokens" "$E" methods --check knorm --tokens 0
finish
