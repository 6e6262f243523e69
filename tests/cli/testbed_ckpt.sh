#!/usr/bin/env bash
# testbed_ckpt.sh: the shipped CCM of the testbed (ckpt/ccm-llava-tiny-5x.safetensors, trained by
# tools/testbed_ccm.sh) loads, records its training ids, compresses a held-out test question through
# `fc-eval quality`, and fc-eval refuses to score it on a record it was trained on. The records are made
# by `fc-eval synth` with the recipe's own options, so their ids are the ids the checkpoint was trained on.
source "$(dirname "$0")/lib.sh"
M=data/testbed/llava-tiny
for r in 5 2 10; do
  C=ckpt/ccm-llava-tiny-${r}x.safetensors
  if [ ! -f "$C" ] || [ ! -f "$M/config.json" ]; then skip "$C or $M absent"; continue; fi
  check_ok "$r""x: inspect loads it" "$FC_BIN/fc-eval" inspect "$C"
  check_grep "$r""x: a CCM of the llava family" '^  family: llava$' "$TMPD/out"
  check_grep "$r""x: its window is the ratio" '^  cf: '"$r"'$' "$TMPD/out"
  check_grep "$r""x: train_ids recorded" '^  train_ids: \["train_000000_' "$TMPD/out"
done

C=ckpt/ccm-llava-tiny-5x.safetensors
if [ -f "$C" ] && [ -f "$M/config.json" ]; then
  # the recipe's training data starts with these records (tools/testbed_ccm.sh: seed 12, 4 questions)
  check_ok "synth the recipe's first training records" "$FC_BIN/fc-eval" synth --out "$TMPD/tr" --split train --n 1 \
    --seed 12 --questions 4 --grid 3 --objects 1..5
  check_error "quality refuses the records the CCM trained on" \
    "ccm-llava-tiny-5x\.safetensors: [0-9]+ of the 4 evaluated ids are in its (train|val)_ids \(e\.g\. 'train_000000_[0-3]'\): not held out; pass --allow-overlap" \
    "$FC_BIN/fc-eval" quality --model "$M" --data "$TMPD/tr/train.json" --ccm "$C" --method none --max-new-tokens 2
  check_error "ASan: the same refusal" "not held out; pass --allow-overlap" \
    "$FC_ASAN_BIN/fc-eval" quality --model "$M" --data "$TMPD/tr/train.json" --ccm "$C" --method none --max-new-tokens 2
  # a held-out test question: the CCM runs and keeps about a fifth of the cache
  check_ok "synth two test questions" "$FC_BIN/fc-eval" synth --out "$TMPD/te" --split test --n 1 --seed 12 --questions 2
  check_ok "quality scores the CCM on held-out test records" "$FC_BIN/fc-eval" quality --model "$M" \
    --data "$TMPD/te/test.json" --ccm "$C" --method none --max-new-tokens 4 --out "$TMPD/q"
  if [ -f "$TMPD/q/quality.csv" ]; then
    # from quality.json, the method's own object (quality.csv's spec field is quoted and holds commas, and
    # columns were added after achieved_ratio: no fixed awk field finds it there)
    ratio=$(awk '/"method":/ { m = $0 ~ /"ccm"/ } m && /"achieved_ratio":/ { gsub(/[^0-9.eE+-]/, "", $2); print $2; exit }' \
      "$TMPD/q/quality.json")
    if awk -v r="$ratio" 'BEGIN { exit !(r >= 4.5 && r <= 5.2) }'; then pass "ccm kept 1/$ratio of the cache (about 1/5)"
    else fail "ccm achieved ratio '$ratio', want 4.5..5.2"; fi
    check_grep "the held-out check is reported clean" '"evaluated_in_train":[[:space:]]*0,' "$TMPD/q/quality.json"
  else
    fail "quality wrote no quality.csv"
  fi
  # the comparison's sweep plans its four quality runs with the shipped checkpoints (every spec is opened)
  if [ -f ckpt/ccm-llava-tiny-2x.safetensors ] && [ -f ckpt/ccm-llava-tiny-10x.safetensors ] &&
     [ -f ckpt/ccm-minicpmv-tiny-5x.safetensors ] && [ -f data/testbed/minicpmv-tiny/config.json ]; then
    check_ok "sweep-testbed plans" "$FC_BIN/fc-eval" sweep --config configs/sweep-testbed.yaml --dry-run --out "$TMPD/sw"
    check_grep "sweep-testbed: the baselines and the CCMs of llava-tiny and minicpmv-tiny" '^sweep configs/sweep-testbed.yaml: 4 runs' "$TMPD/out"
    # sweep_first_turn_only_ignored: quality scores every question of a packed record unless told; the
    # committed comparison scored each picture's first question, so its config must pass that on
    check_grep "sweep-testbed's quality runs score the first question only" 'quality .*--first-turn-only' "$TMPD/out"
    # plot_two_models_one_legend: with several experiments (two models) the series were titled by method
    # alone ("none" four times) and the last experiment's full cache drawn as everyone's dashed line
    mkdir -p "$TMPD/pl/runs" && cp results/testbed/quality.csv "$TMPD/pl/"
    if "$FC_BIN/fc-eval" plot "$TMPD/pl" --out "$TMPD/pl/p" >/dev/null 2>&1; then
      check_grep "plot: series named by experiment" "quality_title_[0-9]* = 'minicpmv-tiny: none'" "$TMPD/pl/p/data/series.gp"
      if grep -q '^ref_exact' "$TMPD/pl/p/data/series.gp"; then fail "plot: one full-cache line drawn for two models"
      else pass "plot: no shared full-cache line across models"; fi
    else
      skip "fc-eval plot failed (gnuplot absent?)"
    fi
  fi
else
  skip "$C or $M absent: no quality checks"
fi
finish
