#!/usr/bin/env bash
# issue14_cpu_pays_no_cuda.sh: the CPU path pays nothing for CUDA (issue 14). Before, every fc-eval linked
# cudart and cuBLAS and started at about 220 MB resident; now the CUDA code is a library loaded with dlopen
# only where a GPU is present (kernels/backend.c), so the binaries link no CUDA library, a command that
# needs no GPU stays small, `fc-eval version` says whether a backend was loaded and why not, and the
# backend library's boundary is what the loader expects.
. "$(dirname "$0")/lib.sh"
lib=$FC_BIN/libfastcache-cuda.so
for exe in "$FC_BIN/fc-eval" "$FC_BIN/fc-train"; do
  if ldd "$exe" >"$TMPD/ldd" 2>&1; then
    if grep -qE 'libcuda|libcublas|libcudnn|libnvrtc' "$TMPD/ldd"; then fail "$exe links CUDA: $(grep -E 'cuda|cublas' "$TMPD/ldd" | tr '\n' ' ')"
    else pass "$exe links no CUDA library"; fi
  else fail "ldd $exe: $(head -c 300 "$TMPD/ldd")"; fi
done

check_ok "version" "$FC_BIN/fc-eval" version
check_grep "version has a cuda line" '^cuda: (not built|no backend loaded: .+|.+; backend .*libfastcache-cuda\.so)$' "$TMPD/out"
built=1; grep -q '^cuda: not built' "$TMPD/out" && built=0

# resident memory of commands that need no GPU: a few MB (the CUDA-linked build: ~220 MB). 64 MB leaves
# room for OpenBLAS and OpenMP while failing on anything that maps cuBLAS.
if [ -x /usr/bin/time ]; then
  rss() { /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -n 1; }
  for cmd in "methods" "version"; do
    env=""; [ "$cmd" = version ] && env="FC_CUDA=0" # version loads the backend where a GPU is present
    kb=$(rss env $env "$FC_BIN/fc-eval" $cmd)
    if [ -n "$kb" ] && [ "$kb" -lt 65536 ] 2>/dev/null; then pass "fc-eval $cmd resident ${kb} KB < 64 MB"
    else fail "fc-eval $cmd resident '${kb}' KB, want < 64 MB"; fi
  done
else
  skip "resident memory (/usr/bin/time not installed)"
fi

if [ $built = 1 ]; then
  FC_CUDA=0 "$FC_BIN/fc-eval" version >"$TMPD/out" 2>&1
  check_grep "FC_CUDA=0 is reported" '^cuda: no backend loaded: turned off by FC_CUDA=0$' "$TMPD/out"
  FC_CUDA_BACKEND=$TMPD/missing.so "$FC_BIN/fc-eval" version >"$TMPD/out" 2>&1
  check_grep "a missing library is named" "^cuda: no backend loaded: .*missing\.so" "$TMPD/out"
  zlib=$(ldd "$FC_BIN/fc-eval" | sed -n 's/.*libz\.so[^ ]* => \([^ ]*\) .*/\1/p' | head -n 1)
  if [ -n "$zlib" ]; then
    FC_CUDA_BACKEND=$zlib "$FC_BIN/fc-eval" version >"$TMPD/out" 2>&1
    check_grep "a library that is no backend is refused" "^cuda: no backend loaded: .*has no fc_cuda_backend_register" "$TMPD/out"
  fi
  if [ -f "$lib" ] && command -v nm >/dev/null; then
    # the library exports its entry point only, and every core function it calls is exported by fc-eval
    nm -D --defined-only "$lib" | awk '$2 ~ /[TDBVW]/ {print $3}' | grep -v '^_' >"$TMPD/exports"
    if [ "$(cat "$TMPD/exports")" = fc_cuda_backend_register ]; then pass "the library exports fc_cuda_backend_register only"
    else fail "the library exports: $(head -c 300 "$TMPD/exports" | tr '\n' ' ')"; fi
    nm -D --undefined-only "$lib" | awk '{print $2}' | grep '^fc_' | sort >"$TMPD/needs"
    nm -D --defined-only "$FC_BIN/fc-eval" | awk '{print $3}' | grep '^fc_' | sort >"$TMPD/has"
    missing=$(comm -23 "$TMPD/needs" "$TMPD/has" | tr '\n' ' ')
    if [ -s "$TMPD/needs" ] && [ -z "$missing" ]; then pass "fc-eval exports what the library calls ($(tr '\n' ' ' <"$TMPD/needs"))"
    else fail "the library calls core functions fc-eval does not export: '$missing'"; fi
    # the real library, forced: where no GPU is usable, the CUDA runtime's own reason comes back
    FC_CUDA_BACKEND=$lib "$FC_BIN/fc-eval" version >"$TMPD/out" 2>&1
    check_grep "the library loads and reports" '^cuda: (no backend loaded: .*libfastcache-cuda\.so: no usable CUDA device: .+|.+; backend .*libfastcache-cuda\.so)$' "$TMPD/out"
  else
    skip "library checks ($lib or nm missing)"
  fi
fi
finish
