#!/usr/bin/env bash
# basics.sh: both CLIs print usage, report unknown commands as errors, and the version line.
. "$(dirname "$0")/lib.sh"
for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  check_ok "$b fc-eval --help" "$b/fc-eval" --help
  check_grep "$b fc-eval --help lists commands" '^commands:' "$TMPD/out"
  check_ok "$b fc-train --help" "$b/fc-train" --help
  check_grep "$b fc-train --help shows usage" '^usage: fc-train' "$TMPD/out"
  check_error "$b fc-eval unknown command" "unknown command 'frobnicate'" "$b/fc-eval" frobnicate
  check_error "$b fc-train unknown command" "unknown command 'gpt5'" "$b/fc-train" gpt5
  check_ok "$b fc-eval version" "$b/fc-eval" version
  check_grep "$b version line" '^fastcache [0-9]+\.[0-9]+' "$TMPD/out"
done
finish
