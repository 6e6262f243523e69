#!/usr/bin/env bash
# run.sh: runs every test binary (release, then ASan+UBSan) and every CLI test script, sums their
# "N passed, N failed, N skipped" lines and ends with the total. A binary or script that exits non-zero
# without reporting a failure (a crash, a sanitizer abort) counts as one failure.
set -u
BUILD=${BUILD:-build}
BIN=${BIN:-bin}
export FC_SHARED=${FC_SHARED:-../shared}
# idle OpenMP threads sleep instead of spinning: on a shared 2-core machine spinning costs several x
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export FC_BIN=$BIN FC_ASAN_BIN=$BUILD/asan/bin
log=$BUILD/test-logs
mkdir -p "$log"
total_p=0 total_f=0 total_s=0
t0=$(date +%s)

run_one() { # name, command...
  local name=$1; shift
  local out="$log/$(echo "$name" | tr '/ ' '__').log"
  local s=$(date +%s)
  "$@" >"$out" 2>&1
  local rc=$?
  local line
  line=$(grep -E '[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
  local p=0 f=0 sk=0
  if [ -n "$line" ]; then
    p=$(echo "$line" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+')
    f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+')
    sk=$(echo "$line" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+' || echo 0)
    [ -n "$sk" ] || sk=0
  fi
  if [ $rc -ne 0 ] && [ "$f" = 0 ]; then f=1; echo "  $name exited with status $rc without reporting a failure"; fi
  total_p=$((total_p + p)); total_f=$((total_f + f)); total_s=$((total_s + sk))
  local status=ok; [ "$f" != 0 ] && status=FAIL
  printf '%-4s %-40s %4d passed %3d failed %3d skipped  %3ds\n' "$status" "$name" "$p" "$f" "$sk" $(( $(date +%s) - s ))
  if [ "$f" != 0 ]; then grep -E 'FAIL|ERROR|error:|runtime error|Sanitizer' "$out" | head -n 30 | sed 's/^/     /'; echo "     (full log: $out)"; fi
}

for t in "$BUILD"/rel/tests/test_*; do
  [ -x "$t" ] || continue
  run_one "unit/$(basename "$t")" "$t"
done
for t in "$BUILD"/asan/tests/test_*; do
  [ -x "$t" ] || continue
  run_one "asan/$(basename "$t")" "$t"
done
for s in tests/cli/*.sh; do
  [ -f "$s" ] && [ "$(basename "$s")" != lib.sh ] || continue
  run_one "cli/$(basename "$s" .sh)" bash "$s"
done

echo "tests took $(( $(date +%s) - t0 ))s; logs in $log/"
echo "$total_p passed, $total_f failed, $total_s skipped"
[ "$total_f" = 0 ]
