#!/usr/bin/env bash
# load.sh: `fc-eval load`, `sweep`, `merge` and `plot` on the tiny fixtures: result files and their columns,
# a VLM data set run, a sweep with its tables and plots, shards merged to the same table, and the bad-input
# lines (unknown method, rate 0, KV budget below one block or one request, misspelled YAML key). One OpenMP
# thread: the tiny models are faster without, and the checks do not depend on timings.
source "$(dirname "$0")/lib.sh"
export OMP_NUM_THREADS=1
M=tests/fixtures/llm/llama_plain
DATA="synthetic:prompt=40,image=24,records=5"
COMMON=(--model $M --data $DATA --requests 8 --max-new-tokens 4 --no-progress --ignore-eos)
for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  check_ok "load snapkv ($b)" "$b/fc-eval" load "${COMMON[@]}" --method snapkv:ratio=4,window=4 --req-per-sec 200 \
    --kv-blocks 20 --prefill-batch 2 --compress-batch 2 --decode-batch 4 --out "$TMPD/load"
  check_grep "table: every request completed ($b)" '^completed +8/8 in' "$TMPD/out"
  check_grep "table: achieved ratio ($b)" '^compression +4.33x achieved' "$TMPD/out"   # 39 cached -> 9 kept
  check_grep "requests.csv header ($b)" '^id,record,record_id,arrival_s,admit_s,prefill_end_s,compress_start_s,compress_end_s,first_token_s,finish_s,ttft_s' "$TMPD/load/requests.csv"
  if [ "$(wc -l <"$TMPD/load/requests.csv")" -eq 9 ]; then pass "requests.csv: 8 rows ($b)"; else fail "requests.csv rows ($b)"; fi
  # every row: 4 tokens generated, 39 cached entries kept as 9, timestamps in order
  if awk -F, 'NR > 1 { if ($23 != 4 || $18 != 39 || $19 != 9) bad = 1
                       for (k = 5; k <= 10; k++) if ($k + 0 < $(k - 1) + 0) bad = 1 }
              END { exit bad }' "$TMPD/load/requests.csv"; then pass "requests.csv rows consistent ($b)"
  else fail "requests.csv rows inconsistent ($b): $(head -3 "$TMPD/load/requests.csv")"; fi
  check_grep "summary.json: completed ($b)" '"completed":[[:space:]]+8,' "$TMPD/load/summary.json"
  check_grep "summary.json: tokens ($b)" '"tokens_generated":[[:space:]]+32,' "$TMPD/load/summary.json"
  check_grep "summary.json: effective spec ($b)" '"method_spec":[[:space:]]+"snapkv:ratio=4,window=4,kernel=5,scope=all"' "$TMPD/load/summary.json"
  check_grep "kv_timeline.csv header ($b)" '^t_s,kv_bytes,decoding,in_flight,waiting$' "$TMPD/load/kv_timeline.csv"
  if ls "$TMPD/load" | grep -q '\.tmp\.'; then fail "temporary files left ($b)"; else pass "no temporary files ($b)"; fi
  # bad input: one line each
  check_error "load: unknown method ($b)" "unknown compression method 'bogus'" "$b/fc-eval" load "${COMMON[@]}" \
    --method bogus --req-per-sec 5 --out "$TMPD/x"
  check_error "load: rate 0 ($b)" 'req-per-sec 0: the rate must be > 0' "$b/fc-eval" load "${COMMON[@]}" \
    --method none --req-per-sec 0 --out "$TMPD/x"
  check_error "load: budget below one block ($b)" 'kv-budget 1000 bytes is less than one KV block \(16384 bytes' \
    "$b/fc-eval" load "${COMMON[@]}" --method none --req-per-sec 5 --kv-budget 1000 --out "$TMPD/x"
  # 39 cached entries: 3 blocks of 16, and one spare block for its first tokens
  check_error "load: budget below one request ($b)" 'request 0: 40 prompt tokens \+ --max-new-tokens need 4 KV blocks .* the whole pool has 2 .*could never run' \
    "$b/fc-eval" load "${COMMON[@]}" --method none --req-per-sec 5 --kv-budget 32k --out "$TMPD/x"
  # compressed to 9 entries it fits at first, then its 100 tokens outgrow the 4-block pool: an error, no hang
  check_error "load: a request outgrowing the pool ($b)" 'request 0: the KV pool is full with it alone' "$b/fc-eval" load \
    --model $M --data $DATA --method snapkv:ratio=4,window=4 --req-per-sec 100 --requests 4 --max-new-tokens 100 \
    --kv-blocks 4 --no-progress --ignore-eos --out "$TMPD/x"
  check_error "load: bad arrival ($b)" "arrival 'gamma': expected poisson or constant" "$b/fc-eval" load "${COMMON[@]}" \
    --method none --req-per-sec 5 --arrival gamma --out "$TMPD/x"
  check_error "load: synthetic key ($b)" "unknown key 'prompts'" "$b/fc-eval" load --model $M \
    --data synthetic:prompts=4 --method none --req-per-sec 5 --out "$TMPD/x"
  check_error "load: data set on a bare decoder ($b)" 'needs a VLM' "$b/fc-eval" load --model $M \
    --data tests/fixtures/data/gqa_list.json --method none --req-per-sec 5 --out "$TMPD/x"
done
check_error "load: budget and blocks" 'kv-budget or --kv-blocks, not both' "$FC_BIN/fc-eval" load "${COMMON[@]}" \
  --method none --req-per-sec 5 --kv-budget 1M --kv-blocks 4 --out "$TMPD/x"
check_error "load: missing --method" 'are required' "$FC_BIN/fc-eval" load --model $M --data $DATA --req-per-sec 5
# a VLM on a GQA question file: the vision tower runs in the prefill stage
check_ok "load minicpmv-tiny on GQA questions" "$FC_BIN/fc-eval" load --model tests/fixtures/vlm/minicpmv-tiny \
  --data tests/fixtures/data/gqa_list.json --images tests/fixtures/data/gqa_images --method knorm:ratio=2 \
  --req-per-sec 50 --requests 4 --max-new-tokens 3 --no-progress --out "$TMPD/vlm"
check_grep "VLM requests.csv carries the question ids" '^[0-9]+,[01],"(7|q8)",' "$TMPD/vlm/requests.csv"
# the same seed: the same arrival times and the same answers (columns 4 and 26)
check_ok "load again, same seed" "$FC_BIN/fc-eval" load "${COMMON[@]}" --method snapkv:ratio=4,window=4 --req-per-sec 200 \
  --kv-blocks 20 --prefill-batch 2 --compress-batch 2 --decode-batch 4 --out "$TMPD/load2"
if cmp -s <(cut -d, -f1,4,26 "$TMPD/load/requests.csv") <(cut -d, -f1,4,26 "$TMPD/load2/requests.csv"); then
  pass "same seed: same arrivals and answers"; else fail "same seed: arrivals or answers differ"; fi
check_ok "plot one load run" "$FC_BIN/fc-eval" plot "$TMPD/load" --out "$TMPD/load/plots"
for p in ttft_distribution kv_memory; do
  for x in png svg; do
    if [ -s "$TMPD/load/plots/$p.$x" ]; then pass "plot $p.$x"; else fail "plot $p.$x missing"; fi
  done
done

# a sweep: 2 methods x 2 ratios x 2 rates (+ none at each rate): 10 load runs, their tables and plots
cat >"$TMPD/sweep.yaml" <<YAML
kind: sweep
name: t
output_dir: $TMPD/results
seed: 3
global:
  model: $M
  data: "$DATA"
  methods: [none, knorm, "snapkv:window=4"]
  ratios: [2x, 4x]
  rates: [100, 400]
  batching: [{prefill: 2, compress: 2, decode: 4}]
  requests: 6
  max_new_tokens: 3
  kv_blocks: 24
  ignore_eos: true
experiments:
  - name: serve
    kind: load
YAML
check_ok "config --check sweep" "$FC_BIN/fc-eval" config --check "$TMPD/sweep.yaml"
check_ok "sweep" "$FC_BIN/fc-eval" sweep --config "$TMPD/sweep.yaml"
check_grep "sweep: 10 runs, tables" 'sweep: 10 run\(s\) .* 0 failed\); .*/load.csv: 10 rows' "$TMPD/out"
R=$TMPD/results/t
check_grep "load.csv header" '^experiment,run,label,method,spec,ratio_x,kvpress_compression_ratio,req_per_sec,' "$R/load.csv"
check_grep "load.csv: a snapkv 4x row at 400 req/s" '^serve,[^,]*,snapkv 4x,snapkv,"snapkv:ratio=4,window=4,kernel=5,scope=all",4,0.75,400,' "$R/load.csv"
for p in throughput_vs_rate latency_vs_rate ttft_vs_rate ttft_distribution kv_memory; do
  if head -c 8 "$R/plots/$p.png" 2>/dev/null | grep -q PNG && grep -q '<svg' "$R/plots/$p.svg" 2>/dev/null; then
    pass "sweep plot $p (png, svg)"; else fail "sweep plot $p missing or not PNG/SVG"; fi
done
check_ok "sweep again resumes (nothing rerun)" "$FC_BIN/fc-eval" sweep --config "$TMPD/sweep.yaml" --no-plots
check_grep "sweep resume keeps finished runs" 'sweep: 0 run\(s\) .*\(10 kept from before, 0 failed\)' "$TMPD/out"
# shards on two "machines", merged: the same ten rows
check_ok "sweep shard 0/2" "$FC_BIN/fc-eval" sweep --config "$TMPD/sweep.yaml" --shard 0/2 --out "$TMPD/s0"
check_ok "sweep shard 1/2" "$FC_BIN/fc-eval" sweep --config "$TMPD/sweep.yaml" --shard 1/2 --out "$TMPD/s1"
check_ok "merge shards" "$FC_BIN/fc-eval" merge --out "$TMPD/merged" "$TMPD/s0" "$TMPD/s1"
check_grep "merge: 10 rows" 'merge: 10 run\(s\) copied, 0 already there; .*load.csv: 10 rows' "$TMPD/out"
if cmp -s <(cut -d, -f1-8 "$R/load.csv") <(cut -d, -f1-8 "$TMPD/merged/load.csv"); then pass "merged table = one-machine table"
else fail "merged load.csv differs from the single sweep's"; fi
# a quality experiment beside a load one: fc-eval quality's table gathered into quality.csv, and its charts
cat >"$TMPD/q.yaml" <<YAML
kind: sweep
name: q
output_dir: $TMPD/results
global:
  model: tests/fixtures/vlm/minicpmv-tiny
  data: tests/fixtures/data/gqa_list.json
  images: tests/fixtures/data/gqa_images
  methods: [none, knorm]
  ratios: [2x]
  rates: [50]
  requests: 3
  max_new_tokens: 3
experiments:
  - {name: answers, kind: quality}
  - {name: serve, kind: load}
YAML
check_ok "sweep with a quality experiment" "$FC_BIN/fc-eval" sweep --config "$TMPD/q.yaml"
check_grep "quality.csv gathered" '^answers,000-answers-quality,knorm,"knorm:ratio=2,scope=all",2,0.5,2,' "$TMPD/results/q/quality.csv"
check_grep "quality.csv: the full cache agrees with itself" '^answers,000-answers-quality,none,none,1,0,2,[^,]*,[^,]*,0,1\.0+,1\.0+,' "$TMPD/results/q/quality.csv"
for p in accuracy_vs_ratio fidelity_vs_ratio throughput_vs_rate; do
  if head -c 8 "$TMPD/results/q/plots/$p.png" 2>/dev/null | grep -q PNG; then pass "quality sweep plot $p"; else fail "quality sweep plot $p missing"; fi
done
# the shipped sweep configs are valid; the tiny one plans 4+ methods x 3 ratios x 3 rates
for f in configs/sweep-*.yaml; do check_ok "config --check $f" "$FC_BIN/fc-eval" config --check "$f"; done
check_ok "sweep-tiny plan" "$FC_BIN/fc-eval" sweep --config configs/sweep-tiny.yaml --dry-run --out "$TMPD/tiny"
check_grep "sweep-tiny: 3 none runs + 4 methods x 3 ratios x 3 rates" '^sweep configs/sweep-tiny.yaml: 39 runs' "$TMPD/out"
# bad sweep configs: one line each
sed 's/max_new_tokens: 3/max_new_token: 3/' "$TMPD/sweep.yaml" >"$TMPD/bad1.yaml"
check_error "sweep: misspelled key" "bad1.yaml:[0-9]+: unknown key 'max_new_token' in section 'global' \(did you mean 'max_new_tokens'\?\)" \
  "$FC_BIN/fc-eval" sweep --config "$TMPD/bad1.yaml"
sed 's/rates: \[100, 400\]/rates: [100, 0]/' "$TMPD/sweep.yaml" >"$TMPD/bad2.yaml"
check_error "sweep: rate 0" 'rates\[1\]: expected requests per second > 0, got .0. \(a rate of 0 never sends a request\)' \
  "$FC_BIN/fc-eval" sweep --config "$TMPD/bad2.yaml"
sed 's/methods: \[none, knorm/methods: [none, knorn/' "$TMPD/sweep.yaml" >"$TMPD/bad3.yaml"
check_error "sweep: unknown method" "experiment 'serve': method 'knorn:ratio=2': unknown compression method 'knorn'" \
  "$FC_BIN/fc-eval" sweep --config "$TMPD/bad3.yaml"
check_error "sweep: bad shard" "shard '2/2': expected I/N" "$FC_BIN/fc-eval" sweep --config "$TMPD/sweep.yaml" --shard 2/2
check_error "plot: not a results folder" 'no results' "$FC_BIN/fc-eval" plot "$TMPD/bad1.yaml.d"
finish
