#!/usr/bin/env bash
# run-gpu.sh (make test-gpu): the test cases that need a GPU, i.e. those whose names contain "cuda"
# (tests/unit/test_ops_cuda.c: every CUDA op against its CPU twin; the device tensor and KV pool cases of
# test_base and test_kv_serving), run from the release test binaries, which reach the GPU through the
# dlopen'd backend library (kernels/backend.h). Where no backend loads (no GPU, a build without CUDA) every
# such case counts as skipped and the reason is printed; REQUIRE_GPU=1 (tools/gpu-check.sh) turns that
# into a failure. Ends with "N passed, N failed, N skipped" like tests/run.sh.
set -u
BUILD=${BUILD:-build}
BIN=${BIN:-bin}
export FC_SHARED=${FC_SHARED:-../shared}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
log=$BUILD/test-logs/gpu
mkdir -p "$log"
total_p=0 total_f=0 total_s=0

status=$("$BIN/fc-eval" version 2>&1 | sed -n 's/^cuda: //p')
echo "cuda backend: ${status:-unknown (fc-eval version printed no cuda line)}"

for t in "$BUILD"/rel/tests/test_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  out="$log/$name.log"
  "$t" cuda >"$out" 2>&1
  rc=$?
  line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
  p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+'); p=${p:-0}
  f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+'); f=${f:-0}
  s=$(echo "$line" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+'); s=${s:-0}
  if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; echo "  $name exited with status $rc without reporting a failure"; fi
  [ $((p + f + s)) -eq 0 ] && continue # no GPU case in this binary
  total_p=$((total_p + p)); total_f=$((total_f + f)); total_s=$((total_s + s))
  st=ok; [ "$f" != 0 ] && st=FAIL
  printf '%-4s %-32s %4d passed %3d failed %3d skipped\n' "$st" "$name" "$p" "$f" "$s"
  [ "$f" != 0 ] && grep -E 'FAIL|error' "$out" | head -n 20 | sed 's/^/     /'
done

if [ "$total_s" -gt 0 ]; then
  reason=$(grep -hoE 'skip [a-z_0-9]+: .*' "$log"/*.log | head -n 1 | sed 's/^skip [a-z_0-9]*: //')
  echo "skipped: ${reason:-see $log}"
  if [ "${REQUIRE_GPU:-}" = 1 ]; then
    echo "REQUIRE_GPU=1: a skipped GPU test counts as a failure"
    total_f=$((total_f + total_s)); total_s=0
  fi
fi
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" = 0 ]
