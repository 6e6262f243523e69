#!/usr/bin/env bash
# tokenize.sh: encode 1 MB of English text with both tokenizers: ours (bench/tokenize.c) vs the `tokenizers`
# library (bench/tokenize_peer.py; not tokenize.py, which would shadow Python's tokenize module), same text,
# same machine, one run, one thread each (a single encode call is sequential in the library). The text is the
# project's own English documentation repeated to 1 MB. Each side reports its best of $REPS encodes (loading
# excluded) and the token count and id sum, which must agree. Prints the ratio peer/ours (> 1: ours is faster).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build} PYTHON=${PYTHON:-python3} SHARED=${SHARED:-../shared} REPS=${REPS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/fc_bench_tok.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$BUILD/bench"
exe=$BUILD/bench/tokenize
${CC:-cc} -std=c11 -D_GNU_SOURCE -I. -O2 -o "$exe" bench/tokenize.c core/text/*.c core/base/*.c \
  -fopenmp -lcjson -lpcre2-8 -lm -lpthread
text=$work/english.txt
src=$(ls "$SHARED"/DESIGN.md "$SHARED"/reference/*.md README.md 2>/dev/null)
while [ "$(stat -c %s "$text" 2>/dev/null || echo 0)" -lt 1000000 ]; do cat $src >>"$text"; done
head -c 1000000 "$text" | iconv -f utf-8 -t utf-8 -c >"$work/t" && mv "$work/t" "$text" # cut on a character boundary
bytes=$(stat -c %s "$text")
for m in llava:llava-1.5-7b-hf minicpmv:minicpm-v-2_6; do
  kind=${m%%:*} dir=$SHARED/data/models/${m#*:}
  read -r t_o n_o s_o < <("$exe" "$dir" "$text" "$REPS")
  read -r t_p n_p s_p < <("$PYTHON" bench/tokenize_peer.py "$kind" "$dir" "$text" "$REPS")
  if [ "$n_o $s_o" != "$n_p $s_p" ]; then echo "tokenize $kind: ids differ: ours $n_o tokens (sum $s_o), peer $n_p (sum $s_p)"; exit 1; fi
  ver=$("$PYTHON" -c 'import tokenizers; print(tokenizers.__version__)')
  awk -v o="$t_o" -v p="$t_p" -v b="$bytes" -v n="$n_o" -v k="$kind" -v v="$ver" -v r="$REPS" 'BEGIN {
    printf "tokenize %s: %.2f MB English -> %d tokens (identical ids), best of %d\n", k, b / 1e6, n, r
    printf "  ours                %8.1f ms  (%.1f MB/s)\n", o * 1e3, b / o / 1e6
    printf "  tokenizers %-8s %8.1f ms  (%.1f MB/s)\n", v, p * 1e3, b / p / 1e6
    printf "ratio tokenize %s: tokenizers/ours = %.2fx\n", k, p / o }'
done
