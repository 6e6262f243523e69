#!/usr/bin/env bash
# review2.sh: regression checks for defects a review of fc-eval load / sweep / merge / plot / synth and
# fc-train found, each named after its defect, on the release and ASan+UBSan binaries: one error line,
# non-zero exit, no sanitizer report, nothing half-written.
. "$(dirname "$0")/lib.sh"
M=tests/fixtures/llm/llama_plain
sweep_yaml() { # NAME RATES -> a one-experiment load sweep on the tiny decoder
  printf 'kind: sweep\nname: %s\noutput_dir: %s\nglobal:\n  model: %s\n  data: synthetic:prompt=40,image=20\n  max_new_tokens: 2\nexperiments:\n  - name: a\n    kind: load\n    methods: [none]\n    rates: %s\n    requests: 2\n' \
    "$1" "$TMPD" "$M" "$2" >"$TMPD/$1.yaml"
}
sweep_yaml one '[5]'
sweep_yaml two '[5, 7]'
for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  L=("$b/fc-eval" load --model $M --data synthetic:prompt=60,image=40 --method none --req-per-sec 5 --requests 2 --no-progress)
  check_error "$b review2: load_pool_past_memory: a huge --max-new-tokens is refused, not an allocator abort" \
    "KV pool of [0-9]+ blocks x 16384 bytes = .* GiB is more than this machine's memory .*--max-new-tokens" \
    "${L[@]}" --max-new-tokens 1000000 --out "$TMPD/l1"
  check_error "$b review2: load_pool_past_memory: a --kv-budget past the machine's memory" \
    "KV pool of [0-9]+ blocks .* is more than this machine's memory" "${L[@]}" --kv-budget 4000G --out "$TMPD/l2"
  check_error "$b review2: load_synthetic_clamped: records= past its bound is refused as written" \
    "--data 'synthetic:prompt=30,records=99999999999': records=99999999999 is more than 16777216" \
    "$b/fc-eval" load --model $M --data synthetic:prompt=30,records=99999999999 --method none --req-per-sec 5 --requests 2 --out "$TMPD/l3"
  check_error "$b review2: load_synthetic_clamped: the error names the prompt length given" \
    "prompt=100000000 is more than 4194304" \
    "$b/fc-eval" load --model $M --data synthetic:prompt=100000000 --method none --req-per-sec 5 --requests 2 --out "$TMPD/l3"
  check_error "$b review2: load_rate_never_ends: a rate whose requests take more than a day to arrive is refused" \
    "--req-per-sec 1e-9 with 2 requests: the last would arrive after 1e\+09 s \(more than a day\)" \
    "$b/fc-eval" load --model $M --data synthetic:prompt=30 --method none --req-per-sec 1e-9 --requests 2 --arrival constant --out "$TMPD/l4"
  rm -rf "$TMPD/s1" "$TMPD/s2" "$TMPD/m"
  check_ok "$b review2: sweep one" "$b/fc-eval" sweep --config "$TMPD/one.yaml" --out "$TMPD/s1" --no-plots
  check_ok "$b review2: sweep two, shard 1/2" "$b/fc-eval" sweep --config "$TMPD/two.yaml" --shard 1/2 --out "$TMPD/s2" --no-plots
  check_error "$b review2: merge_of_other_sweeps: shards of two different sweeps are refused" \
    "s2/sweep\.json: another sweep's plan than .*s1/sweep\.json" "$b/fc-eval" merge --out "$TMPD/m" "$TMPD/s1" "$TMPD/s2" --no-plots
  if [ -e "$TMPD/m" ]; then fail "$b review2: merge_of_other_sweeps: nothing written"; else pass "$b review2: merge_of_other_sweeps: nothing written"; fi
  check_ok "$b review2: merge of one sweep's shard" "$b/fc-eval" merge --out "$TMPD/m" "$TMPD/s2" --no-plots
  check_error "$b review2: merge_of_other_sweeps: into an --out holding another sweep" \
    "s1/sweep\.json: another sweep's plan than .*/m/sweep\.json" "$b/fc-eval" merge --out "$TMPD/m" "$TMPD/s1" --no-plots
  mkdir -p "$TMPD/nofin/runs/000-x" "$TMPD/empty"
  check_error "$b review2: plot_no_finished_runs: a sweep folder without a finished run is an error" \
    "nofin: no finished runs to plot" "$b/fc-eval" plot "$TMPD/nofin" --out "$TMPD/p1"
  if [ -e "$TMPD/p1" ]; then fail "$b review2: plot_no_finished_runs: nothing left behind"; else pass "$b review2: plot_no_finished_runs: nothing left behind"; fi
  check_error "$b review2: plot_no_finished_runs: no results at all writes nothing" "empty: no results" \
    "$b/fc-eval" plot "$TMPD/empty" --out "$TMPD/p2"
  if [ -e "$TMPD/p2" ]; then fail "$b review2: plot_no_finished_runs: no folder for missing results"; else pass "$b review2: plot_no_finished_runs: no folder for missing results"; fi
  check_error "$b review2: merge_checks_before_writing: a folder that is no sweep" "empty: not a sweep folder" \
    "$b/fc-eval" merge --out "$TMPD/m2" "$TMPD/empty"
  if [ -e "$TMPD/m2" ]; then fail "$b review2: merge_checks_before_writing: nothing written"; else pass "$b review2: merge_checks_before_writing: nothing written"; fi
  check_error "$b review2: synth_n_zero: --n 0 writes nothing and says so" "synth: nothing to write: every selected split has 0 pictures" \
    "$b/fc-eval" synth --out "$TMPD/y0" --n 0
  check_error "$b review2: synth_n_zero: a split of 0 pictures" "synth: nothing to write" \
    "$b/fc-eval" synth --out "$TMPD/y0" --n 5 --split test --n-test 0
  if [ -e "$TMPD/y0" ]; then fail "$b review2: synth_n_zero: no folder made"; else pass "$b review2: synth_n_zero: no folder made"; fi
  check_ok "$b review2: synth --n 0 with multi-image samples still writes them" "$b/fc-eval" synth --out "$TMPD/y1" --n 0 --split test --multi 1
  if [ -f "$FC_SHARED/data/models/llava-1.5-7b-hf/tokenizer.json" ]; then
    TR=("$b/fc-train" llava --model tests/fixtures/vlm/llava-tiny --tokenizer "$FC_SHARED/data/models/llava-1.5-7b-hf"
        --data tests/fixtures/train/conv.json --images tests/fixtures/train/images --threads 1)
    mkdir -p "$TMPD/runs"
    check_error "$b review2: train_out_folder: --out DIR/ is refused before training" \
      "^fc-train: error: --out .*/runs/: a folder, not a file name \(give e\.g\. .*/runs/ccm\.safetensors\)$" "${TR[@]}" --max-steps 1 --out "$TMPD/runs/"
    check_error "$b review2: train_out_folder: --out naming an existing folder" \
      "--out .*/runs: a folder, not a file name" "${TR[@]}" --max-steps 1 --out "$TMPD/runs"
    if grep -q '^train: [0-9]' "$TMPD/err" "$TMPD/out"; then fail "$b review2: train_out_folder: no step ran"; else pass "$b review2: train_out_folder: no step ran"; fi
    check_ok "$b review2: a 2-step run to resume" "${TR[@]}" --max-steps 2 --dropout 0 --out "$TMPD/runs/r.safetensors"
    check_error "$b review2: train_resume_other_window: --resume with another --window/--ratio is refused (was kept, mislabelled)" \
      "r\.last\.safetensors: the compressor has window 5, depth 3, hidden 8; this run asks for window 3" \
      "${TR[@]}" --max-steps 4 --window 3 --ratio 3x --resume "$TMPD/runs/r.last.safetensors" --out "$TMPD/runs/r3.safetensors"
    check_error "$b review2: train_resume_other_window: --init of another depth" "the compressor has window 5, depth 3, hidden 8; this run asks for window 5, depth 2" \
      "${TR[@]}" --max-steps 1 --depth 2 --init "$TMPD/runs/r.safetensors" --out "$TMPD/runs/r4.safetensors"
    if ls "$TMPD/runs" | grep -q '^r[34]'; then fail "$b review2: train_resume_other_window: nothing written"; else pass "$b review2: train_resume_other_window: nothing written"; fi
    check_error "$b review2: grad_repeated_id: fc-train grad --ids t00,t00 is refused (the sample counted twice)" \
      "^fc-train: error: --ids: id 't00' is given twice$" "$b/fc-train" grad --model tests/fixtures/vlm/llava-tiny \
      --tokenizer "$FC_SHARED/data/models/llava-1.5-7b-hf" --ccm "$TMPD/runs/r.safetensors" --data tests/fixtures/train/conv.json \
      --images tests/fixtures/train/images --ids t00,t02,t00 --out "$TMPD/runs/g.safetensors"
  else skip "$b review2: train_out_folder: no LLaVA tokenizer in $FC_SHARED"; fi
done
finish
