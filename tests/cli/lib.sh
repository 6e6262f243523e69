# lib.sh: helpers for the CLI test scripts in tests/cli/*.sh (sourced, not run).
# Each script calls check_* functions and ends with `finish`, which prints "N passed, N failed" and sets
# the exit status. Binaries: $FC_BIN/fc-eval (release) and $FC_ASAN_BIN/fc-eval (ASan+UBSan build).
FC_BIN=${FC_BIN:-bin}
FC_ASAN_BIN=${FC_ASAN_BIN:-build/asan/bin}
FC_SHARED=${FC_SHARED:-../shared}
_passed=0 _failed=0 _skipped=0
TMPD=$(mktemp -d)
trap 'rm -rf "$TMPD"' EXIT

pass() { _passed=$((_passed + 1)); echo "  ok   $1"; }
fail() { _failed=$((_failed + 1)); echo "  FAIL $1"; }
skip() { _skipped=$((_skipped + 1)); echo "  skip $1"; }

# check_ok NAME CMD...: the command exits 0 (its output is kept in $TMPD/out and $TMPD/err).
check_ok() {
  local name=$1; shift
  if timeout 120 "$@" >"$TMPD/out" 2>"$TMPD/err"; then pass "$name"
  else fail "$name (exit $?): $(head -c 400 "$TMPD/err")"; fi
}

# check_error NAME PATTERN CMD...: the command exits with status 1 or 2 (not a signal, not a sanitizer
# abort, not a timeout), prints exactly one line on stderr matching the extended regex PATTERN and
# starting with "fc-eval: error:" / "fc-train: error:", and nothing that looks like a sanitizer report.
check_error() {
  local name=$1 pattern=$2; shift 2
  timeout 60 "$@" >"$TMPD/out" 2>"$TMPD/err"
  local rc=$?
  local lines; lines=$(wc -l <"$TMPD/err")
  if [ $rc -ne 1 ] && [ $rc -ne 2 ]; then fail "$name: exit status $rc (want 1 or 2): $(head -c 600 "$TMPD/err")"; return; fi
  if grep -qE 'Sanitizer|runtime error' "$TMPD/err"; then fail "$name: sanitizer report: $(head -c 600 "$TMPD/err")"; return; fi
  if [ "$lines" -ne 1 ]; then fail "$name: want one line on stderr, got $lines: $(head -c 600 "$TMPD/err")"; return; fi
  if ! grep -qE '^fc-(eval|train): error: ' "$TMPD/err"; then fail "$name: message lacks the 'fc-eval: error:' prefix: $(cat "$TMPD/err")"; return; fi
  if ! grep -qE -- "$pattern" "$TMPD/err"; then fail "$name: message '$(cat "$TMPD/err")' does not match /$pattern/"; return; fi
  pass "$name"
}

# check_grep NAME PATTERN FILE: FILE contains a line matching PATTERN.
check_grep() {
  if grep -qE -- "$2" "$3"; then pass "$1"; else fail "$1: /$2/ not found in $3: $(head -c 400 "$3")"; fi
}

finish() {
  echo "$(basename "$0" .sh): $_passed passed, $_failed failed, $_skipped skipped"
  [ $_failed -eq 0 ]
}
