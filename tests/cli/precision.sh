#!/usr/bin/env bash
# precision.sh: --precision f32|bf16 (kernels/wpack.h) on the CLI: `fc-eval version` reports the CPU's bf16 /
# AMX flags and the kernels chosen; --precision f32 gives exactly the reference path (greedy tokens equal
# transformers', as in llm.sh); --precision bf16 runs (where the CPU has the bf16 kernels; else one warning
# line says why and the f32 path runs); bad values are one-line errors. Release and ASan builds.
. "$(dirname "$0")/lib.sh"
FIX=tests/fixtures/llm
field() { grep "^$2 " "$FIX/$1/cli.txt" | cut -d' ' -f2; }

for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  check_ok "$b version" "$b/fc-eval" version
  check_grep "$b version: cpu flags" "^cpu: .*avx512_bf16.*amx_bf16" "$TMPD/out"
  check_grep "$b version: precision line" "^precision: f32 \(f32: OpenBLAS" "$TMPD/out"
  usable=0; grep -q "not usable\|unavailable" "$TMPD/out" || usable=1
  m=qwen2_bf16 ids=$(field qwen2_bf16 ids) toks=$(field qwen2_bf16 tokens)
  check_ok "$b --precision f32 generate" "$b/fc-eval" --precision f32 generate --model "$FIX/$m" --ids "$ids" \
    --max-new-tokens 6 --print-ids
  check_grep "$b --precision f32 = transformers greedy" "^$(echo "$toks" | tr ',' ' ')\$" "$TMPD/out"
  if [ $usable = 1 ]; then
    check_ok "$b --precision bf16 generate" "$b/fc-eval" generate --model "$FIX/$m" --ids "$ids" \
      --max-new-tokens 6 --print-ids --precision=bf16
    check_grep "$b --precision bf16: six ids" "^[0-9]+( [0-9]+){5}\$" "$TMPD/out"
    check_ok "$b FC_PRECISION=bf16 logits" env FC_PRECISION=bf16 "$b/fc-eval" logits --model "$FIX/$m" \
      --ids "$ids" --steps 2 --out "$TMPD/l.safetensors"
  else # falls back to the f32 path with one warning line
    check_ok "$b --precision bf16 falls back" "$b/fc-eval" --precision bf16 generate --model "$FIX/$m" --ids "$ids" \
      --max-new-tokens 6 --print-ids
    check_grep "$b fallback = f32 greedy" "^$(echo "$toks" | tr ',' ' ')\$" "$TMPD/out"
    check_grep "$b fallback warning" "warn.*--precision: precision bf16: .*running with f32" "$TMPD/err"
  fi
  check_error "$b --precision bad value" "--precision: precision 'fp8' \(want f32 or bf16\)" \
    "$b/fc-eval" --precision fp8 version
  check_error "$b --precision twice" "option --precision given twice" \
    "$b/fc-eval" --precision f32 version --precision f32
  check_error "$b --precision without value" "option --precision needs a value" "$b/fc-eval" version --precision
  check_error "$b FC_PRECISION bad" "FC_PRECISION: precision 'x'" env FC_PRECISION=x "$b/fc-eval" version
  check_error "$b fc-train --precision bad" "--precision: precision 'f8'" "$b/fc-train" --precision f8 llava
  # every command's --help lists --precision (main() takes it out of argv before the command's table parses)
  check_ok "$b generate --help" "$b/fc-eval" generate --help
  check_grep "$b generate --help lists --precision" "^  --precision f32[|]bf16" "$TMPD/out"
  # a sweep config's precision: key reaches every run (its summary.json records what ran); fc-eval's
  # --precision and FC_PRECISION win over the key
  printf '%s\n' "kind: sweep" "name: prec" "output_dir: $TMPD/sweep" "precision: bf16" "global:" \
    "  model: $FIX/llama_plain" "  data: synthetic:prompt=20,records=2" "  methods: [none]" "  rates: [100]" \
    "  requests: 2" "  max_new_tokens: 2" "  kv_blocks: 16" "experiments:" "  - {name: serve, kind: load}" \
    >"$TMPD/sw.yaml"
  want=f32; [ $usable = 1 ] && want=bf16
  check_ok "$b sweep precision: bf16" "$b/fc-eval" sweep --config "$TMPD/sw.yaml" --no-plots --out "$TMPD/sa"
  check_grep "$b sweep key applied" "\"precision\":[[:space:]]*\"$want\"" "$TMPD"/sa/runs/*/summary.json
  check_ok "$b --precision f32 sweep" "$b/fc-eval" --precision f32 sweep --config "$TMPD/sw.yaml" --no-plots \
    --out "$TMPD/sb"
  check_grep "$b --precision wins over the key" "\"precision\":[[:space:]]*\"f32\"" "$TMPD"/sb/runs/*/summary.json
  check_ok "$b FC_PRECISION=f32 sweep" env FC_PRECISION=f32 "$b/fc-eval" sweep --config "$TMPD/sw.yaml" \
    --no-plots --out "$TMPD/sc"
  check_grep "$b FC_PRECISION wins over the key" "\"precision\":[[:space:]]*\"f32\"" "$TMPD"/sc/runs/*/summary.json
done
finish
