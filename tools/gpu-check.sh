#!/usr/bin/env bash
# gpu-check.sh: everything the GPU can check, in one go, on a machine with an NVIDIA GPU (issue 14):
#   1. environment: nvidia-smi (device, driver, memory, clocks), nvcc, the Debian packages, Python peers;
#   2. build: make CUDA=1 with the device's own sm_XY (from nvidia-smi), all cores;
#   3. fc-eval version: the backend loads and names the device;
#   4. REQUIRE_GPU=1 make test-gpu: every CUDA op against its CPU twin (test_ops_cuda*, device tensors,
#      the device KV pool); a skipped GPU case counts as a failure here;
#   5. bench/gpu.sh: prefill and decode tokens/s at batch 1/16/64 with real-size Vicuna-7B and Qwen2-7B
#      configs and random weights made on the GPU machine, ours and (when torch with CUDA and transformers
#      import) PyTorch + transformers on the same GPU in the same run.
# Each step has a time limit, its own log, and its exit status in the summary; a failed step does not stop
# the later ones (a failed build stops only what needs the build). Sized for about 10 minutes on one
# H100/H200 (build ~3 min on 16 cores, tests ~1 min, bench ~4 min); BENCH=0 skips step 5, QUICK=1 runs
# it with 4 layers per model.
#
# Results: gpu-<UTC time>-<device>/ (summary.txt, env.txt, one log per step, gpu_bench.csv) written in
# $GPU_CHECK_COPY_TO (default $OUT) when that is a directory, so that a run cut off by its caller's time
# limit leaves its finished steps there, and copied to bench/results/ at the end; else in bench/results/.
# BUDGET_S (default 570) bounds the whole run: the bench gets what is left. Exit status: 0 when every
# step passed.
#
# Needs on the GPU machine: the NVIDIA driver, nvcc + cuBLAS (CUDA 12 or 13), gcc, make and the Debian
# packages of tools/debian-packages.txt (the build refuses to start without them: `make deps` installs
# them where apt can reach a mirror). The PyTorch peer needs torch built with CUDA and transformers
# importable by $PYTHON (default python3, or /work/venv/bin/python when present); it is skipped, and the
# summary says so, when they are not: a machine without internet cannot install them, so either bring a
# venv that has them (PYTHON=/path/to/venv/bin/python) or take our figures alone.
set -uo pipefail
cd "$(dirname "$0")/.."
JOBS=${JOBS:-$(nproc)}
if [ -z "${PYTHON:-}" ]; then PYTHON=python3; [ -x /work/venv/bin/python ] && PYTHON=/work/venv/bin/python; fi
export PYTHON
stamp=$(date -u +%Y%m%dT%H%M%SZ)
device=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -n 1)
slug=$(echo "${device:-no-gpu}" | tr -c 'A-Za-z0-9\n' '-' | tr -s '-' | sed 's/-$//')
# written straight into $OUT when the caller gives one (the device tool brings back only what lies there, and
# a run cut off by its time limit still leaves every finished step's log); copied to bench/results at the end
dest=${GPU_CHECK_COPY_TO:-${OUT:-}}
if [ -z "${RES:-}" ] && [ -n "$dest" ] && [ -d "$dest" ]; then RES=$dest/gpu-$stamp-$slug; fi
RES=${RES:-bench/results/gpu-$stamp-$slug}
mkdir -p "$RES"
BUDGET_S=${BUDGET_S:-570} # the whole run; the bench gets what is left of it
summary=$RES/summary.txt
: >"$summary"
failed=0
log() { echo "$*" | tee -a "$summary"; }

# step NAME LIMIT_S CMD...: runs CMD with a time limit, its output in $RES/NAME.log (and on the terminal),
# and one summary line with the status and the seconds it took.
step() {
  local name=$1 limit=$2; shift 2
  local t0=$SECONDS rc
  echo "== $name (limit ${limit}s): $*"
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$RES/$name.log"
  rc=${PIPESTATUS[0]}
  local st=ok
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then st="TIMEOUT after ${limit}s"; elif [ "$rc" != 0 ]; then st="FAILED (exit $rc)"; fi
  [ "$rc" = 0 ] || failed=$((failed + 1))
  log "$(printf '%-10s %-22s %4ds  %s' "$name" "$st" $((SECONDS - t0)) "log: $RES/$name.log")"
  return "$rc"
}

log "gpu-check $stamp on $(hostname): ${device:-NO GPU FOUND (nvidia-smi)}"
{
  echo "date: $stamp"; echo "host: $(hostname)"; echo "cpus: $(nproc)"; echo "git: $(git rev-parse HEAD 2>/dev/null) $(git status --porcelain 2>/dev/null | wc -l) changed files"
  echo "--- nvidia-smi"; nvidia-smi 2>&1
  echo "--- nvidia-smi query"
  nvidia-smi --query-gpu=name,driver_version,memory.total,compute_cap,clocks.max.sm,clocks.max.mem,power.limit --format=csv 2>&1
  echo "--- nvcc"; (command -v nvcc || ls /usr/local/cuda/bin/nvcc) 2>&1; (nvcc --version || /usr/local/cuda/bin/nvcc --version) 2>&1 | tail -n 2
  echo "--- Debian packages (tools/check-deps.sh)"; ./tools/check-deps.sh 2>&1 && echo "all present"
  echo "--- python peers ($PYTHON)"
  "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available())' 2>&1 | tail -n 1
  "$PYTHON" -c 'import transformers; print("transformers", transformers.__version__)' 2>&1 | tail -n 1
} >"$RES/env.txt" 2>&1
log "environment: $RES/env.txt"

cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1 | tr -d '.[:space:]')
arch=${CUDA_ARCH:-${cap:-90}}
built=0
if [ "${SKIP_BUILD:-0}" = 1 ] && [ -x bin/fc-eval ] && [ -f bin/libfastcache-cuda.so ]; then
  log "build      skipped (SKIP_BUILD=1, using bin/ as found)"
  built=1
elif step build 420 make -j"$JOBS" CUDA=1 CUDA_ARCH="$arch" all \
  $(ls tests/unit/test_*.c | sed 's|^tests/unit/\(.*\)\.c$|build/rel/tests/\1|'); then
  built=1
fi

if [ "$built" = 1 ]; then
  step version 60 bin/fc-eval version
  step test-gpu 240 env REQUIRE_GPU=1 make -j"$JOBS" --no-print-directory CUDA=1 CUDA_ARCH="$arch" test-gpu
  if [ "${BENCH:-1}" != 0 ]; then
    if [ "${QUICK:-0}" = 1 ]; then export LAYERS=${LAYERS:-4}; fi
    left=$((BUDGET_S - SECONDS - 15))
    [ "$left" -gt 420 ] && left=420
    if [ "$left" -lt 60 ]; then
      log "bench      skipped: ${left}s left of BUDGET_S=${BUDGET_S}"
      failed=$((failed + 1))
    else
      step bench "$left" env OUT="$RES" DEVICE="$device" bash bench/gpu.sh
    fi
  else
    log "bench      skipped (BENCH=0)"
  fi
else
  log "version, test-gpu, bench: not run (no build)"
fi

[ -f "$RES/test-gpu.log" ] && log "tests: $(grep -E '^[0-9]+ passed, [0-9]+ failed' "$RES/test-gpu.log" | tail -n 1)"
[ -f "$RES/bench.log" ] && { log "bench figures:"; sed -n '/^== summary/,$p' "$RES/bench.log" | tee -a "$summary"; }
log "gpu-check: $failed step(s) failed; results in $RES"
case "$RES" in
  bench/results/*) ;;
  *) mkdir -p bench/results && cp -r "$RES" bench/results/ && echo "copied to bench/results/$(basename "$RES")" ;;
esac
[ "$failed" = 0 ]
