#!/usr/bin/env bash
# run.sh: `make fuzz`: builds every tests/fuzz/fuzz_*.c with clang's libFuzzer + ASan + UBSan against the
# CPU library sources, and runs each for $FUZZ_SECONDS (default 60) from its seed corpus. New inputs go to
# $BUILD/fuzz/<target>/corpus (the committed seeds are never written), crashes to $BUILD/fuzz/<target>/.
# Exit status 1 if a target fails to build or finds a crash, leak or timeout.
#   seeds: fuzz_safetensors, fuzz_st_index  tests/corpus/safetensors + tests/fixtures/safetensors
#          fuzz_json_config  tests/corpus/config      fuzz_yaml  tests/corpus/yaml
#          fuzz_<x>          tests/corpus/<x> (when it exists)
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
CLANG=${CLANG:-$(command -v clang || command -v clang-14 || true)}
JOBS=${JOBS:-2}
if [ -z "$CLANG" ]; then echo "fuzz: clang not found (apt-get install clang)"; exit 1; fi
out=$BUILD/fuzz
mkdir -p "$out/obj"
CFLAGS="-std=c11 -D_GNU_SOURCE -I. -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined"
CFLAGS="$CFLAGS -fno-sanitize-recover=undefined -Wno-unknown-pragmas"
OMP=-fopenmp
echo 'int main(void){return 0;}' >"$out/omp.c"
"$CLANG" -fopenmp "$out/omp.c" -o "$out/omp" 2>/dev/null || OMP=  # without libomp the pragmas are ignored
LIBS="-lopenblas -lcjson -lyaml -lpcre2-8 -ljpeg -lpng -lm -lpthread"

# The library, CPU only, one object per source, rebuilt when the source is newer. A source that does not
# compile (someone's work in progress) is reported and left out; the link then says if a target needs it.
srcs=$(find core kernels data -name '*.c' -not -path 'kernels/cuda/*' 2>/dev/null | sort)
compile_one() { # src
  local o="$out/obj/${1%.c}.o"
  [ -f "$o" ] && [ "$o" -nt "$1" ] && return 0
  mkdir -p "$(dirname "$o")"
  "$CLANG" $CFLAGS $OMP -c "$1" -o "$o" 2>"$o.log" || { echo "fuzz: $1 does not compile, left out: $(head -c 300 "$o.log")"; rm -f "$o"; }
}
export -f compile_one; export CLANG CFLAGS OMP out
echo "$srcs" | xargs -P "$JOBS" -I{} bash -c 'compile_one {}'
objs=$(for s in $srcs; do o="$out/obj/${s%.c}.o"; [ -f "$o" ] && echo "$o"; done)
rm -f "$out/libfc_fuzz.a"
ar rcs "$out/libfc_fuzz.a" $objs

seeds_for() { # target name -> seed folders
  case $1 in
    fuzz_safetensors|fuzz_st_index) echo "tests/corpus/safetensors tests/fixtures/safetensors" ;;
    fuzz_json_config) echo "tests/corpus/config" ;;
    fuzz_yaml) echo "tests/corpus/yaml" ;;
    *) echo "tests/corpus/${1#fuzz_}" ;;
  esac
}

status=0
for src in tests/fuzz/fuzz_*.c; do
  [ -f "$src" ] || continue
  name=$(basename "$src" .c)
  dir=$out/$name
  mkdir -p "$dir/corpus"
  if ! "$CLANG" $CFLAGS $OMP -fsanitize=fuzzer "$src" "$out/libfc_fuzz.a" $LIBS -o "$dir/$name" 2>"$dir/build.log"; then
    echo "FAIL $name: does not build: $(head -c 600 "$dir/build.log")"; status=1; continue
  fi
  seeds=()
  for s in $(seeds_for "$name"); do [ -d "$s" ] && seeds+=("$s"); done
  echo "fuzz: $name for ${FUZZ_SECONDS}s, seeds: ${seeds[*]:-none}"
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
    "$dir/$name" "$dir/corpus" "${seeds[@]}" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -artifact_prefix="$dir/" -print_final_stats=1 >"$dir/run.log" 2>&1
  rc=$?
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$dir/run.log" | grep -oE '[0-9]+$')
  if [ $rc -ne 0 ]; then
    echo "FAIL $name (exit $rc): $(grep -m1 -E 'ERROR|runtime error|deadly signal' "$dir/run.log")"
    ls "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* 2>/dev/null | sed 's/^/     input: /'
    echo "     log: $dir/run.log"
    status=1
  else
    echo "ok   $name: ${runs:-?} inputs, $(ls "$dir/corpus" | wc -l) in its corpus"
  fi
done
exit $status
