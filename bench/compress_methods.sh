#!/usr/bin/env bash
# compress_methods.sh: time to compress one request's prefix KV with each method, on LLaVA-1.5-7B sizes
# (32 layers x 32 kv heads x 600 tokens x head dim 128, the image at 35..611), ours (bench/compress_methods.c)
# vs the peer (kvpress 0.5.5 presses, FastCache's CCM in torch: bench/compress_methods.py), same sizes, same
# thread count, one run. Prints per method the best of $REPS runs of all 32 layers and the ratio peer/ours
# (> 1: ours is faster). Both sides must keep the same number of entries.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build} PYTHON=${PYTHON:-python3} REPS=${REPS:-3} THREADS=${THREADS:-2}
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS MKL_NUM_THREADS=$THREADS
work=$(mktemp -d "${TMPDIR:-/tmp}/fc_bench_compress.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$BUILD/bench"
exe=$BUILD/bench/compress_methods
${CC:-cc} -std=c11 -D_GNU_SOURCE -I. -O2 -march=native -o "$exe" bench/compress_methods.c core/compress/*.c \
  core/kv/*.c core/io/safetensors.c core/io/safetensors_index.c core/io/safetensors_write.c core/base/*.c \
  core/tensor/*.c kernels/backend.c -fopenmp -lopenblas -lcjson -lm -lpthread
# a random FastCache LLaVA compressor of the real size (32 layers, D=128, cf=5), converted to ours
"$PYTHON" - "$work" <<'PY'
import sys, torch
sys.path.insert(0, "tools")
import convert_fastcache_pth as conv
torch.manual_seed(0)
torch.save(conv.KVCacheLinearDecoupleCompressor(32, 128, 5, 2).state_dict(), sys.argv[1] + "/ccm.pth")
conv.main([sys.argv[1] + "/ccm.pth", sys.argv[1] + "/ccm.safetensors"])
PY
dims="32 32 600 128 $REPS"
printf "compress_methods: L=32 Hkv=32 S=600 D=128, %s threads, best of %s, seconds per request (all layers)\n" \
  "$THREADS" "$REPS"
printf "  %-20s %10s %10s %8s\n" method ours peer peer/ours
for m in knorm:ratio=5 streaming_llm:ratio=5 random:ratio=5 snapkv:ratio=5 tova:ratio=5 \
         expected_attention:ratio=5 observed_attention:ratio=5 ccm; do
  name=${m%%:*}
  if [ "$name" = ccm ]; then spec="ccm:weights=$work/ccm.safetensors"; extra=(--ccm "$work/ccm.safetensors")
  else spec=$m; extra=(); fi
  read -r t_o n_o < <("$exe" "$spec" $dims)
  read -r t_p n_p < <(torch_threads=$THREADS "$PYTHON" -c "import torch,sys,runpy; torch.set_num_threads($THREADS); \
sys.argv=['x','$m']+'$dims'.split()+sys.argv[1:]; runpy.run_path('bench/compress_methods.py', run_name='__main__')" \
    "${extra[@]}")
  if [ "$n_o" != "$n_p" ]; then echo "compress_methods: $name: ours keeps $n_o entries, peer $n_p"; exit 1; fi
  awk -v m="$name" -v o="$t_o" -v p="$t_p" 'BEGIN { printf "  %-20s %9.4fs %9.4fs %7.2fx\n", m, o, p, p / o }'
done
