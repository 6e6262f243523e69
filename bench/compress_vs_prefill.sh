#!/usr/bin/env bash
# compress_vs_prefill.sh: compression time per request as a share of that request's prefill time, per method,
# on our own engine (issue 5; target: CCM under 2% of prefill on CPU). `fc-eval bench-compress` prefills one
# LLaVA-like request (T tokens, a 576-row image span of random embeddings at IMAGE) into the KV pool of a
# real-width model with random weights cut to 2 layers, then times fc_compress_sequence on its KV:
#   vicuna: LLaVA-1.5-7B's Vicuna-7B (32 heads, 32 kv heads, f16), CCM = FastCache's LLaVA layout (ik/iv/tk/tv,
#           segment rule "prefix")
#   qwen2:  MiniCPM-V-2.6's Qwen2-7B (28 heads, 4 kv heads, bf16), CCM = FastCache's MiniCPM layout (tk/tv,
#           segment rule "whole")
# CCM weights are random, of the real shapes (cf 5, D 128, hidden 128, depth 3), made with the FastCache
# module classes and converted by tools/convert_fastcache_pth.py. Both costs are per-layer work of the same
# size in every layer, so the ratio on 2 layers is the full model's; fc-eval prints the bound on the only
# difference (prefill's work outside the layers) for the real layer count read from $SHARED's configs.
# The peer here is our own prefill (no other engine is involved: the figure is a ratio of two of our times).
# Env: THREADS (default 2), T (default 620), IMAGE (START:LEN, default 5:576), REPS (default 5),
# MODELS (default "vicuna qwen2"), BIN, BUILD, PYTHON, SHARED.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin} BUILD=${BUILD:-build} PYTHON=${PYTHON:-python3} SHARED=${SHARED:-../shared}
THREADS=${THREADS:-2} T=${T:-620} IMAGE=${IMAGE:-5:576} REPS=${REPS:-5} MODELS=${MODELS:-vicuna qwen2}
[ -x "$BIN/fc-eval" ] || { echo "compress_vs_prefill: $BIN/fc-eval missing (run make first)"; exit 1; }
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS SHARED
"$PYTHON" tools/make_realwidth_models.py "$BUILD/realwidth" >/dev/null
work=$(mktemp -d "${TMPDIR:-/tmp}/fc_bench_cvp.XXXXXX")
trap 'rm -rf "$work"' EXIT
# random CCMs of the real shapes for the 2-layer models; the full layer counts from the real configs
read -r full_vicuna full_qwen2 < <("$PYTHON" - "$work" "$SHARED" <<'PY'
import json, os, sys
import torch
sys.path.insert(0, "tools")
import convert_fastcache_pth as conv
out, shared = sys.argv[1], sys.argv[2]
torch.manual_seed(0)
torch.save(conv.KVCacheLinearDecoupleCompressor(2, 128, 5, 2).state_dict(), out + "/llava.pth")
conv.main([out + "/llava.pth", out + "/llava.safetensors", "--family", "llava"])
torch.save(conv.KVCacheHybridCompressor(2, 128, 5, 2).state_dict(), out + "/minicpm.pth")
conv.main([out + "/minicpm.pth", out + "/minicpm.safetensors", "--family", "minicpm"])
m = os.path.join(shared, "data/models")
llava = json.load(open(m + "/llava-1.5-7b-hf/config.json"))["text_config"].get("num_hidden_layers", 32)
qwen2 = json.load(open(m + "/minicpm-v-2_6/llm_config.json"))["num_hidden_layers"]
print(llava, qwen2)
PY
)
[ -n "${full_qwen2:-}" ] || { echo "compress_vs_prefill: could not make the CCM checkpoints or read the configs"; exit 1; }
methods=(knorm:ratio=5 streaming_llm:ratio=5 random:ratio=5 snapkv:ratio=5 tova:ratio=5
         expected_attention:ratio=5 observed_attention:ratio=5)
for name in $MODELS; do
  case $name in
    vicuna) dir=$BUILD/realwidth/vicuna7b-2l ccm=$work/llava.safetensors full=$full_vicuna ;;
    qwen2) dir=$BUILD/realwidth/qwen2-7b-2l ccm=$work/minicpm.safetensors full=$full_qwen2 ;;
    *) echo "compress_vs_prefill: unknown model '$name'"; exit 1 ;;
  esac
  args=()
  for m in "${methods[@]}"; do args+=(--method "$m"); done
  args+=(--method "ccm:weights=$ccm")
  "$BIN/fc-eval" bench-compress --model "$dir" --prompt-len "$T" --image "$IMAGE" --reps "$REPS" \
    --full-layers "$full" "${args[@]}"
done
