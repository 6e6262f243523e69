#!/usr/bin/env bash
# demo.sh: `make demo`, the main job as far as it exists today, on what the repository bundles:
#   1. the real configs and tokenizers of LLaVA-1.5-7B and MiniCPM-V-2.6 (../shared/data/models): inspect
#      the checkpoint layout and tokenize a prompt, as the real models would see it;
#   2. a GQA image preprocessed exactly as each model's processor does;
#   3. both VLMs end to end (image -> vision tower -> prompt -> paged KV cache -> greedy answer) on the tiny
#      random-weight checkpoints of tests/fixtures (no real weights can be downloaded here, so the answers
#      are noise; the pipeline, shapes and token layout are the real ones);
#   4. the KV compression methods (FastCache's learned compressor and the kvpress baselines);
#   5. fc-eval quality: answer accuracy and fidelity to the full cache per method on the GQA demo records.
set -euo pipefail
SHARED=${SHARED:-../shared}
BIN=${BIN:-bin}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
out=${DEMO_OUT:-build/demo}
mkdir -p "$out"
models="$SHARED/data/models"
image="$SHARED/data/gqa-demo/gqa/2316686.jpg"
step() { printf '\n== %s\n' "$*"; }

for m in llava-1.5-7b-hf minicpm-v-2_6; do
  step "$m: checkpoint layout from its index (weights are not bundled)"
  "$BIN/fc-eval" inspect "$models/$m" > "$out/inspect-$m.txt"
  sed -n '/^checkpoint:/q;p' "$out/inspect-$m.txt"
  grep -E '^totals:' "$out/inspect-$m.txt"
done

step "tokenize the LLaVA-1.5 prompt with the real tokenizer (576 <image> tokens come from expansion)"
"$BIN/fc-eval" tokenize --model "$models/llava-1.5-7b-hf" --text $'USER: <image>\nWhat are these? ASSISTANT:'
step "tokenize a MiniCPM-V-2.6 ChatML turn with the real Qwen2 tokenizer"
"$BIN/fc-eval" tokenize --model "$models/minicpm-v-2_6" --text $'<|im_start|>user\nWhat is on the table?<|im_end|>\n<|im_start|>assistant\n'

step "preprocess $image for both models (pixel tensors in $out/)"
"$BIN/fc-eval" preprocess --model "$models/llava-1.5-7b-hf" --image "$image" --out "$out/pixels-llava.safetensors"
"$BIN/fc-eval" preprocess --model "$models/minicpm-v-2_6" --image "$image" --out "$out/pixels-minicpmv.safetensors"
"$BIN/fc-eval" inspect "$out/pixels-minicpmv.safetensors" > "$out/inspect-pixels.txt"
grep -E 'pixel_values|tgt_sizes|grid' "$out/inspect-pixels.txt"

step "LLaVA-1.5 end to end (tiny random weights, real tokenizer and prompt layout)"
"$BIN/fc-eval" run --model tests/fixtures/vlm/llava-tiny --tokenizer "$models/llava-1.5-7b-hf" \
  --image "$image" --prompt "What is on the table?" --max-new-tokens 8 --show-prompt
step "MiniCPM-V-2.6 end to end (tiny random weights; the image is sliced 2x2 + overview)"
"$BIN/fc-eval" run --model tests/fixtures/vlm/minicpmv-tiny --image "$image" \
  --prompt "What is on the table?" --max-new-tokens 8 --show-prompt

step "the compression methods and their options"
"$BIN/fc-eval" methods > "$out/methods.txt"
grep -E '^[a-z_]+' "$out/methods.txt"

step "LLaVA-1.5 (tiny) with its prompt's KV compressed between prefill and decode: KV bytes before -> after"
# ccm: an untrained random compressor of llava-tiny's shape (tools/make_compress_fixtures.py); the
# baselines with kvpress semantics; the 34-token prompt needs SnapKV's window below 34. Token ids, not text:
# the tiny model's vocabulary (32064) is larger than the tokenizer's, and random weights may pick the rest
for method in ccm:weights=tests/fixtures/compress/ccm_llava_tiny_random.safetensors \
              snapkv:ratio=2,window=8 knorm:ratio=4,scope=image; do
  "$BIN/fc-eval" run --model tests/fixtures/vlm/llava-tiny --tokenizer "$models/llava-1.5-7b-hf" \
    --image "$image" --prompt "What is on the table?" --max-new-tokens 8 --print-ids --method "$method"
done

step "what each method costs in answers against the full cache, on the GQA demo records (tiny LLaVA)"
"$BIN/fc-eval" quality --model tests/fixtures/vlm/llava-tiny --tokenizer "$models/llava-1.5-7b-hf" \
  --data "$SHARED/data/gqa-demo/llava_v1_5_mix665k_demo.json" --method knorm:ratio=5 snapkv:ratio=2,window=8 \
  --max-new-tokens 8 --out "$out/quality"
echo
echo "demo done; outputs in $out/"
