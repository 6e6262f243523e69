#!/usr/bin/env bash
# testbed_sweep.sh: the comparison of issue 11 item 4 on the bundled testbed. Writes the test split the
# testbed model's own figures use (fc-eval synth, seed 11: 200 pictures, every question of a picture in one
# record; fc-eval quality scores the first) to build/testbed/test, then runs
#   bin/fc-eval sweep --config configs/sweep-testbed.yaml [ARGS...]
# (the full cache, the CCMs of ckpt/ and the eight kvpress baselines at 2x, 5x and 10x). Results go to
# results/testbed/ (quality.csv, runs/, plots/). ARGS go to fc-eval sweep (--force, --out DIR, --shard I/N).
# Environment: BIN (bin), OMP_NUM_THREADS (1: one record at a time is too small to split).
set -euo pipefail
BIN=${BIN:-bin}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
test_dir=build/testbed/test
if [ ! -f "$test_dir/test.json" ]; then
  mkdir -p "$test_dir"
  "$BIN/fc-eval" synth --out "$test_dir" --split test --n 200 --seed 11 --grid 3 --objects 1..5 --questions 14 \
    --pack --describe
fi
"$BIN/fc-eval" sweep --config configs/sweep-testbed.yaml "$@"
