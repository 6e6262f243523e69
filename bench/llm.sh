#!/usr/bin/env bash
# llm.sh: decoder throughput, ours (`fc-eval bench-llm`) vs PyTorch + transformers (bench/llm_torch.py), same
# folder, same prompt length, batch and steps, same thread count (OMP/OpenBLAS threads = torch.set_num_threads).
#   tiny:   tests/fixtures/llm/qwen2_odd (f32, 2 layers, hidden 168)
#   vicuna: Vicuna-7B width (LLaVA-1.5's decoder), 2 layers, f16 weights, random
#   qwen2:  Qwen2-7B width (MiniCPM-V-2.6's decoder), 2 layers, bf16 weights, random
# Real-width folders come from tools/make_realwidth_models.py into $REALWIDTH (default $BUILD/realwidth,
# ~4.4 GB, made once and kept for reruns).
# For each: prefill tokens/s (batch 1, T tokens) and decode tokens/s (batch 1 and 8), for each of our
# precisions ($PRECISIONS, default "f32 bf16": --precision) and each of torch's dtypes ($TORCH_DTYPES,
# default "bf16 f32": bf16 = the checkpoint as bfloat16, torch's fastest CPU path on AVX-512 BF16 / AMX
# (oneDNN underneath); f32 = upcast; "native" = the checkpoint's own dtype). Both sides run one untimed
# pass of the same shape first. Each figure is the best of REPS runs (default 2), all sides alternating.
# Every figure is also printed as a share of the machine's limit (bench/cpu_limits.sh, measured in the same
# run unless $BUILD/bench/limits.txt exists and LIMITS=reuse): prefill GFLOP/s against the peak GEMM of its
# precision, batch-1 decode's weight bytes per second against the DRAM read bandwidth (2 MiB pages).
# On a shared machine the bandwidth drifts within minutes, so for the real-width models each of our
# precisions also gets bench/llm_decode_split.sh: decode steps each paired with a DRAM read of the same
# moment, the step split into its linears and the rest ("decode_split" lines).
# With VISION=1 (default when a real-width model is in MODELS) bench/vision.sh runs at the end: CLIP-L/336 +
# projector and SigLIP NaViT + resampler, ours f32/bf16 vs torch f32/bf16.
# Env: THREADS (default: all cores), T (default 600), N (decode steps, default 16), MODELS (default
# "tiny vicuna qwen2"), PRECISIONS, TORCH_DTYPES, REPS, LIMITS, REALWIDTH, VISION, SPLIT_REPS (default 10),
# BIN, BUILD, PYTHON, SHARED.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin} BUILD=${BUILD:-build} PYTHON=${PYTHON:-python3} SHARED=${SHARED:-../shared}
THREADS=${THREADS:-$(nproc)} T=${T:-600} N=${N:-16} MODELS=${MODELS:-tiny vicuna qwen2} REPS=${REPS:-2}
PRECISIONS=${PRECISIONS:-f32 bf16} TORCH_DTYPES=${TORCH_DTYPES:-bf16 f32} REALWIDTH=${REALWIDTH:-$BUILD/realwidth}
[ -x "$BIN/fc-eval" ] || { echo "llm: $BIN/fc-eval missing (run make first)"; exit 1; }
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} SHARED
case " $MODELS " in *" vicuna "*|*" qwen2 "*)
  [ -f "$REALWIDTH/vicuna7b-2l/config.json" ] && [ -f "$REALWIDTH/qwen2-7b-2l/config.json" ] ||
    "$PYTHON" tools/make_realwidth_models.py "$REALWIDTH" ;;
esac
limits=$BUILD/bench/limits.txt
[ "${LIMITS:-}" = reuse ] && [ -f "$limits" ] || THREADS=$THREADS BUILD=$BUILD bash bench/cpu_limits.sh >/dev/null
lim() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" "$limits" | head -1; }
PEAK_BF16=$(lim bf16_gemm_gflops) PEAK_F32=$(lim f32_gemm_gflops) DRAM=$(lim dram_read_gbs)
echo "llm: threads $THREADS, T=$T, N=$N, load average $(cut -d' ' -f1-3 /proc/loadavg); limits: bf16 GEMM" \
  "$PEAK_BF16 GFLOP/s, f32 GEMM $PEAK_F32 GFLOP/s, DRAM read $DRAM GB/s"

val() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > a ? b : a) }'; }
for name in $MODELS; do
  case $name in
    tiny) dir=tests/fixtures/llm/qwen2_odd ;;
    vicuna) dir=$REALWIDTH/vicuna7b-2l ;;
    qwen2) dir=$REALWIDTH/qwen2-7b-2l ;;
    *) echo "llm: unknown model '$name'"; exit 1 ;;
  esac
  # prefill: batch 1, T tokens, no decode; decode: a 64-token prompt, then N steps at batch 1 and 8
  for spec in "1 $T 0 prefill" "1 64 $N decode_b1" "8 64 $N decode_b8"; do
    set -- $spec
    B=$1 key=prefill_tok_s; [ "$4" = prefill ] || key=decode_tok_s
    declare -A res=() infos=()
    info=""
    for r in $(seq "$REPS"); do
      for p in $PRECISIONS; do
        out=$("$BIN/fc-eval" --precision "$p" bench-llm --model "$dir" --batch "$1" --prompt-len "$2" --steps "$3")
        res[ours-$p]=$(best "${res[ours-$p]:-0}" "$(val "$out" $key)")
        info=$out infos[$p]=$out
      done
      for d in $TORCH_DTYPES; do
        out=$("$PYTHON" bench/llm_torch.py --model "$dir" --batch "$1" --prompt-len "$2" --steps "$3" \
          --threads "$THREADS" --dtype "$d")
        res[torch-$d]=$(best "${res[torch-$d]:-0}" "$(val "$out" $key)")
      done
    done
    macs=$(val "$info" linear_macs) head=$(val "$info" head_macs) L=$(val "$info" layers) A=$(val "$info" attn_dim)
    what="$4"; [ "$4" = prefill ] && what="prefill T=$T"
    for side in $(for p in $PRECISIONS; do echo "ours-$p"; done) $(for d in $TORCH_DTYPES; do echo "torch-$d"; done); do
      tok=${res[$side]}
      prec=f32; case $side in *bf16|torch-native) prec=bf16 ;; esac
      [ "$side" = torch-native ] && [ "$name" = vicuna ] && prec=f16
      if [ "$4" = prefill ]; then
        # FLOPs of one prefill: the layers' linears on every token, lm_head on the last, causal attention
        awk -v n="$name" -v w="$what" -v s="$side" -v tok="$tok" -v B="$B" -v T="$T" -v m="$macs" -v h="$head" \
          -v L="$L" -v A="$A" -v pk="$([ $prec = f32 ] && echo "$PEAK_F32" || echo "$PEAK_BF16")" -v pn="$prec" \
          'BEGIN { fl = 2 * B * T * m + 2 * B * h + L * B * 4 * A * T * (T + 1) / 2; s_ = B * T / tok;
                   g = fl / s_ / 1e9; printf "llm %-6s %-13s %-11s %9.2f tok/s  %7.1f GFLOP/s = %5.1f%% of %s GEMM peak\n", n, w, s, tok, g, 100 * g / pk, (pn == "f32" ? "f32" : "bf16") }'
      else
        # bytes of weight read per decode step: ours as bench-llm reports (packed or checkpoint bytes);
        # torch: every linear weight in its dtype (2 bytes bf16/f16, 4 f32)
        wb=$(val "$info" weight_bytes)
        case $side in
          ours-*) wb=$(val "${infos[${side#ours-}]}" weight_bytes) ;;
          torch-f32) wb=$(awk -v m="$macs" -v h="$head" 'BEGIN { print 4 * (m + h) }') ;;
          *) wb=$(awk -v m="$macs" -v h="$head" 'BEGIN { print 2 * (m + h) }') ;;
        esac
        awk -v n="$name" -v w="$what" -v s="$side" -v tok="$tok" -v B="$B" -v wb="$wb" -v dr="$DRAM" \
          'BEGIN { gb = wb * tok / B / 1e9; printf "llm %-6s %-13s %-11s %9.2f tok/s  %7.2f GB/s of weights = %5.1f%% of DRAM read\n", n, w, s, tok, gb, 100 * gb / dr }'
      fi
    done
    for p in $PRECISIONS; do
      for d in $TORCH_DTYPES; do
        awk -v n="$name" -v w="$what" -v a="${res[ours-$p]}" -v b="${res[torch-$d]}" -v p="$p" -v d="$d" -v t="$THREADS" \
          'BEGIN { printf "llm %-6s %-13s ratio ours-%s / torch-%s = %5.2fx (%d threads)\n", n, w, p, d, a / b, t }'
      done
    done
    unset res infos
  done
  if [ "$name" != tiny ]; then # decode steps paired with a read of the same moment (llm_decode_split.c)
    for p in $PRECISIONS; do
      MODELS=$dir PRECISIONS=$p STEPS=${SPLIT_REPS:-10} THREADS=$THREADS BUILD=$BUILD bash bench/llm_decode_split.sh |
        sed -n "s/^split: /llm $name decode_split $p: /p" | grep -v "  weight"
    done
  fi
done
VISION=${VISION:-$(case " $MODELS " in *" vicuna "*|*" qwen2 "*) echo 1 ;; *) echo 0 ;; esac)}
if [ "$VISION" = 1 ]; then
  THREADS=$THREADS REPS=$REPS BIN=$BIN PYTHON=$PYTHON SHARED=$SHARED bash bench/vision.sh | grep "^vision "
fi
