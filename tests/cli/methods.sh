#!/usr/bin/env bash
# methods.sh: `fc-eval methods` lists every compression method with options and defaults, checks specs,
# and reports bad specs as one error line naming the method, option or value.
. "$(dirname "$0")/lib.sh"
W=tests/fixtures/compress/ccm_weights.safetensors
for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  check_ok "$b methods" "$b/fc-eval" methods
  for m in knorm snapkv expected_attention streaming_llm tova random observed_attention pyramidkv ccm; do
    check_grep "$b methods lists $m" "^$m\$" "$TMPD/out"
  done
  check_grep "$b snapkv window default" '^ +window +default 64 ' "$TMPD/out"
  check_ok "$b methods --help" "$b/fc-eval" methods --help
  check_ok "$b methods --check snapkv" "$b/fc-eval" methods --check snapkv:ratio=5x
  check_grep "$b spec spelled out" '^snapkv:ratio=5,window=64,kernel=5,scope=all$' "$TMPD/out"
  check_grep "$b kvpress ratio" 'kvpress compression_ratio 0.8' "$TMPD/out"
  check_ok "$b methods --check ccm" "$b/fc-eval" methods --check "ccm:weights=$W"
  check_grep "$b ccm ratio is cf" '^ratio: 5x' "$TMPD/out"
  check_error "$b unknown method" "unknown compression method 'snap'" "$b/fc-eval" methods --check snap
  check_error "$b unknown option" "snapkv: unknown option 'kernal' \(options: ratio, window, kernel, scope\)" \
    "$b/fc-eval" methods --check snapkv:kernal=3
  check_error "$b bad value" "option 'ratio' = '0.5', want a number in \[1, 1e6\]" "$b/fc-eval" methods --check knorm:ratio=0.5
  check_error "$b missing weights" "ccm: .*nope.safetensors" "$b/fc-eval" methods --check ccm:weights=nope.safetensors
  check_error "$b unknown flag" "methods: unknown option '--list'" "$b/fc-eval" methods --list
done
finish
