#!/usr/bin/env bash
# bench_compress.sh: `fc-eval bench-compress` (the C side of bench/compress_vs_prefill.sh) on a tiny Llama
# and a CCM of its head dim: prefill, then every method's compression of the same KV, with kept sizes from
# the definitions (kvpress n_kept; CCM windows of cf=5 per segment), and errors for bad options.
. "$(dirname "$0")/lib.sh"
M=tests/fixtures/compress/e2e_llama       # 2 layers, Hkv 2, D 16
W=tests/fixtures/compress/ccm_e2e.safetensors # D 16, cf 5, segment rule "prefix"
for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  check_ok "$b bench-compress --help" "$b/fc-eval" bench-compress --help
  check_ok "$b bench-compress runs" "$b/fc-eval" bench-compress --model "$M" --prompt-len 120 --image 5:80 \
    --reps 2 --prefill-reps 1 --full-layers 32 --method knorm:ratio=5 --method snapkv:ratio=5 \
    --method expected_attention:ratio=5 --method pyramidkv:ratio=5,window=16 --method "ccm:weights=$W"
  # kvpress: max(1, int(120 * (1 - 0.8))) = 23 (1 - 0.8 is just under 0.2)
  check_grep "$b knorm keeps n_kept(120, 5x)" '^  knorm +[0-9.]+ +[0-9.]+ +[0-9.]+% +23 *$' "$TMPD/out"
  check_grep "$b snapkv from the prefill capture" '^  snapkv .* 23  prefill capture [+-][0-9.]+ ms' "$TMPD/out"
  check_grep "$b expected_attention runs" '^  expected_attention .* 23  prefill capture' "$TMPD/out"
  # per-layer budgets: the longest layer is printed (window 16, beta 20 of 120 at 5x falls back to 24)
  check_grep "$b pyramidkv runs" '^  pyramidkv .* 24  prefill capture' "$TMPD/out"
  # prefix rule: image segment [0, 85) -> 17 windows, text [85, 120) -> 7 windows: 24
  check_grep "$b ccm keeps its windows" '^  ccm .* 24  target < 2%: (met|MISSED)' "$TMPD/out"
  check_grep "$b depth bound stated" 'the 32-layer ratio is at most' "$TMPD/out"
  check_grep "$b ccm verdict" '^ccm: [0-9.]+% of prefill here, <= [0-9.]+% for the 32-layer model' "$TMPD/out"
  check_error "$b no model" "bench-compress: --model DIR is required" "$b/fc-eval" bench-compress
  check_error "$b image past the prompt" "--image 100:80 ends past the 120-token prompt" \
    "$b/fc-eval" bench-compress --model "$M" --prompt-len 120 --image 100:80
  check_error "$b bad image" "--image: '5' is not START:LEN" "$b/fc-eval" bench-compress --model "$M" --image 5
  check_error "$b unknown method" "unknown compression method 'nope'" \
    "$b/fc-eval" bench-compress --model "$M" --prompt-len 40 --image 0:20 --method nope
  check_error "$b ccm of another head dim" "ccm" "$b/fc-eval" bench-compress --model "$M" --prompt-len 40 \
    --image 0:20 --method ccm:weights=tests/fixtures/compress/ccm_weights.safetensors
  check_error "$b unknown flag" "bench-compress: unknown option '--nope'" "$b/fc-eval" bench-compress --nope
done
finish
