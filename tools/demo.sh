#!/usr/bin/env bash
# demo.sh: `make demo`, the main job end to end on what the repository bundles (make has installed what
# was missing and built bin/ before this runs):
#   1. the real LLaVA-1.5-7B and MiniCPM-V-2.6 configs and tokenizers (../shared/data/models): checkpoint
#      layout, a tokenized prompt and a preprocessed GQA image, as the real models would see them;
#   2. fc-eval synth: a small train and test split of the synthetic visual-QA testbed;
#   3. fc-train: a short distillation run of a 5x CCM on the train split;
#   4. fc-eval sweep (configs/sweep-demo.yaml): fc-eval quality of the full cache, that CCM and the
#      baselines at 5x on the test split, and short fc-eval load runs of the full cache and the CCM;
#   5. fc-eval plot: the charts of both; then the accuracy table and where every file went.
# The model is $FC_DEMO_MODEL, by default the trained testbed model data/testbed/llava-tiny; without it the
# demo falls back to the tiny random-weight fixture and says that its answers are noise.
# Environment: SHARED (../shared), BIN (bin), DEMO_OUT (build/demo), FC_DEMO_MODEL, FC_DEMO_TRAIN_IMAGES (40),
# FC_DEMO_TEST_IMAGES (12), FC_DEMO_STEPS (160), FC_DEMO_SEED (48), FC_DEMO_THREADS (2).
set -euo pipefail
SHARED=${SHARED:-../shared}
BIN=${BIN:-bin}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
out=${DEMO_OUT:-build/demo}
testbed=data/testbed/llava-tiny
model=${FC_DEMO_MODEL:-$testbed}
n_train=${FC_DEMO_TRAIN_IMAGES:-40}
n_test=${FC_DEMO_TEST_IMAGES:-12}
steps=${FC_DEMO_STEPS:-160}
seed=${FC_DEMO_SEED:-48}
threads=${FC_DEMO_THREADS:-2}
models="$SHARED/data/models"
image="$SHARED/data/gqa-demo/gqa/2316686.jpg"
t_start=$(date +%s)
t_step=$t_start
step() {
  local now
  now=$(date +%s)
  printf '\n== [%4ds] %s\n' "$((now - t_start))" "$*"
  t_step=$now
}

# the demo's own outputs only: a rerun starts clean (the sweep would otherwise keep finished runs)
mkdir -p "$out"
rm -rf "$out/synth" "$out/ccm" "$out/results"

noise=""
if [ ! -f "$model/config.json" ]; then
  if [ -n "${FC_DEMO_MODEL:-}" ]; then
    echo "demo: error: FC_DEMO_MODEL=$model: no config.json there" >&2
    exit 1
  fi
  model=tests/fixtures/vlm/llava-tiny
  noise="yes"
  cat <<EOF

NOTE: the trained testbed model ($testbed) is not in this checkout, so the demo runs the tiny
random-weight fixture $model instead: every step below is the real pipeline, but its answers are noise
(expect ~0% accuracy for every method). Set FC_DEMO_MODEL=DIR to run another LLaVA-style model.
EOF
fi
# a model folder without its own tokenizer (the fixtures) takes the real LLaVA-1.5 one
tok=()
[ -f "$model/tokenizer.json" ] || tok=(--tokenizer "$models/llava-1.5-7b-hf")

step "the real models' layouts (weights are not bundled): checkpoint index, tokenizer, image processor"
for m in llava-1.5-7b-hf minicpm-v-2_6; do
  "$BIN/fc-eval" inspect "$models/$m" > "$out/inspect-$m.txt"
  printf '%s: ' "$m"
  grep -E '^totals:' "$out/inspect-$m.txt"
done
"$BIN/fc-eval" tokenize --model "$models/llava-1.5-7b-hf" --text $'USER: <image>\nWhat are these? ASSISTANT:'
"$BIN/fc-eval" preprocess --model "$models/llava-1.5-7b-hf" --image "$image" --out "$out/pixels-llava.safetensors"
"$BIN/fc-eval" preprocess --model "$models/minicpm-v-2_6" --image "$image" --out "$out/pixels-minicpmv.safetensors"
"$BIN/fc-eval" inspect "$out/pixels-minicpmv.safetensors" > "$out/inspect-pixels.txt"
grep -E 'pixel_values|tgt_sizes|grid' "$out/inspect-pixels.txt"
echo "MiniCPM-V-2.6 end to end (tiny random-weight fixture: real slicing and prompt layout; the answer is noise):"
"$BIN/fc-eval" run --model tests/fixtures/vlm/minicpmv-tiny --image "$image" --prompt "What is on the table?" \
  --max-new-tokens 8 --show-prompt

step "fc-eval synth: $n_train training and $n_test test pictures of the visual-QA testbed (seed $seed)"
mkdir -p "$out/synth"
# training: every question of a picture in one conversation, plus a description turn (denser supervision);
# test: one question per record, so quality scores each answer on its own
"$BIN/fc-eval" synth --out "$out/synth/train" --split train --n "$n_train" --seed "$seed" --questions 14 --pack \
  --describe
"$BIN/fc-eval" synth --out "$out/synth/test" --split test --n "$n_test" --seed "$seed"

step "fc-train llava: a 5x CCM distilled from $model on the train split ($steps steps)"
"$BIN/fc-train" llava --model "$model" "${tok[@]}" --data "$out/synth/train/train.json" --images "$out/synth/train" \
  --out "$out/ccm/ccm-5x.safetensors" --ratio 5x --max-steps "$steps" --val-every $((steps / 2)) --lr 3e-3 \
  --dropout 0 --schedule constant --threads "$threads" --seed "$seed"

step "fc-eval sweep: quality of the full cache, the CCM and the baselines at 5x; short load runs (configs/sweep-demo.yaml)"
"$BIN/fc-eval" sweep --config configs/sweep-demo.yaml --model "$model" "${tok[@]}" \
  --data "$out/synth/test/test.json" --images "$out/synth/test" --checkpoint "$out/ccm/ccm-5x.safetensors" \
  --out "$out/results" --seed "$seed" --no-plots

step "fc-eval plot: the charts of the sweep"
"$BIN/fc-eval" plot "$out/results"

quality_log=$(ls "$out"/results/runs/*-quality/log.txt)
step "accuracy on the test split ($(dirname "$quality_log")/quality.csv)"
sed -n '/^quality: [0-9]* records/,/^wrote /p' "$quality_log" | grep -v '^wrote '
[ -n "$noise" ] && echo "(random-weight fixture model: these accuracies are noise, see the note above)"

t_end=$(date +%s)
printf '\ndemo done in %d s. Where every file went:\n' "$((t_end - t_start))"
where() { printf '  %-44s %s\n' "$1" "$2"; }
where "$out/inspect-*.txt" "the real models' checkpoint layouts"
where "$out/pixels-*.safetensors" "a GQA image as each real model's processor prepares it"
where "$out/synth/{train,test}/" "the testbed splits: images/, <split>.json (LLaVA conversations),"
where "" "<split>_questions.json (GQA layout), <split>_scenes.json, synth.json"
where "$out/ccm/ccm-5x.safetensors" "the trained CCM (best by validation KL); beside it .last and"
where "" ".last.state (--resume), .steps.csv and .val.csv (training logs)"
where "$out/results/quality.csv" "accuracy and fidelity per method (the table above)"
where "$out/results/load.csv" "throughput, TTFT, latency and KV memory of the load runs"
where "$out/results/runs/<run>/" "each run's log.txt, run.json (its command line) and raw files"
where "" "(quality_samples.csv; requests.csv, kv_timeline.csv, summary.json)"
where "$out/results/plots/*.png, *.svg" "accuracy and fidelity vs ratio, throughput, latency and TTFT vs"
where "" "rate, TTFT distribution, KV memory over time (plots/data/: their data)"
