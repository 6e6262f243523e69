#!/usr/bin/env bash
# train.sh: fc-train on the bundled tiny VLMs (tests/fixtures/vlm) and the tiny conversation set
# (tests/fixtures/train/conv.json, made by tools/make_train_fixtures.py):
#   - a short run learns: validation KL falls to at most half of the untrained compressor's;
#   - a run killed with SIGKILL and resumed repeats the per-step losses of an uninterrupted one (same threads);
#   - options from YAML and the command line (the command line wins), outputs and checkpoint metadata;
#   - fc-train grad writes every CCM gradient;
#   - bad input: one line, non-zero exit (release and ASan+UBSan builds).
cd "$(dirname "$0")/../.." || exit 1
. tests/cli/lib.sh
F=tests/fixtures/vlm
D=tests/fixtures/train
LTOK=$FC_SHARED/data/models/llava-1.5-7b-hf
export OMP_NUM_THREADS=1
if [ ! -f "$LTOK/tokenizer.json" ]; then
  skip "fc-train llava: the LLaVA tokenizer is not in $LTOK"; finish; exit $?
fi
LB=(llava --model $F/llava-tiny --tokenizer "$LTOK" --images $D/images --threads 1)
L=("${LB[@]}" --data $D/conv.json)

# ---- learning: KL at most half of the untrained one's ----
check_ok "train llava-tiny 120 steps" "$FC_BIN/fc-train" "${L[@]}" --out "$TMPD/a.safetensors" --max-steps 120 \
  --val-every 40 --lr 3e-3 --dropout 0 --schedule constant
first=$(awk -F, 'NR==2 {print $4}' "$TMPD/a.val.csv"); last=$(awk -F, 'END {print $4}' "$TMPD/a.val.csv")
if awk -v f="$first" -v l="$last" 'BEGIN {exit !(f > 0 && l <= 0.5 * f)}'; then pass "validation KL $first -> $last (at most half)"
else fail "validation KL $first -> $last: not at most half"; fi
check_grep "summary names the best checkpoint" "best validation KL .* saved to $TMPD/a.safetensors" "$TMPD/out"
check_grep "one CSV row per step" '^120,' "$TMPD/a.steps.csv"
check_grep "CSV header" '^step,epoch,samples,tokens,lr,loss,kl,top1,grad_norm,tok_per_s,elapsed_s$' "$TMPD/a.steps.csv"
"$FC_BIN/fc-eval" inspect "$TMPD/a.safetensors" >"$TMPD/meta" 2>&1
check_grep "checkpoint records train_ids" '^  train_ids: \["t0' "$TMPD/meta"
check_grep "checkpoint records val_ids" '^  val_ids: \["' "$TMPD/meta"
check_grep "checkpoint records the position rule" '^  position_rule: original$' "$TMPD/meta"
check_grep "checkpoint records the step" '^  step: ' "$TMPD/meta"
check_grep "checkpoint records validation KL" '^  val_kl: ' "$TMPD/meta"
# the trained checkpoint is an ordinary compressor for fc-eval
check_ok "fc-eval run loads the trained checkpoint" "$FC_BIN/fc-eval" run --model $F/llava-tiny --tokenizer "$LTOK" \
  --image $D/images/gqa/150352.jpg --prompt "What is in the picture?" --method "ccm:weights=$TMPD/a.safetensors" \
  --max-new-tokens 3

# fc-eval quality refuses to score the checkpoint on the samples it trained on
check_error "fc-eval quality refuses the training ids" "in its train_ids \(e.g. 't00'\)" "$FC_BIN/fc-eval" quality \
  --model $F/llava-tiny --tokenizer "$LTOK" --data $D/conv.json --images $D/images --method none \
  --ccm "$TMPD/a.safetensors" --limit 1 --max-new-tokens 2 --out "$TMPD/q"

# ---- resume after SIGKILL repeats the uninterrupted run's losses ----
R=("${L[@]}" --max-steps 40 --save-every 6 --val-every 15 --lr 2e-3 --batch 1 --accum 2)
check_ok "uninterrupted run" "$FC_BIN/fc-train" "${R[@]}" --out "$TMPD/u.safetensors"
"$FC_BIN/fc-train" "${R[@]}" --out "$TMPD/k.safetensors" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 600); do
  [ "$({ wc -l <"$TMPD/k.steps.csv"; } 2>/dev/null || echo 0)" -ge 17 ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.05
done
if kill -9 $pid 2>/dev/null; then killed=1; else killed=0; fi
wait $pid 2>/dev/null
rows=$(($(wc -l <"$TMPD/k.steps.csv") - 1))
if [ $killed = 1 ] && [ "$rows" -lt 40 ]; then pass "run killed with SIGKILL after $rows steps"
else fail "the run was not killed mid-way (killed=$killed, $rows steps logged)"; fi
check_ok "resumed run" "$FC_BIN/fc-train" "${R[@]}" --out "$TMPD/k.safetensors" --resume "$TMPD/k.last.safetensors"
# every column but the timings (tok_per_s, elapsed_s)
cut -d, -f1-9 "$TMPD/u.steps.csv" >"$TMPD/u.cols"; cut -d, -f1-9 "$TMPD/k.steps.csv" >"$TMPD/k.cols"
if cmp -s "$TMPD/u.cols" "$TMPD/k.cols" && [ "$(wc -l <"$TMPD/u.cols")" = 41 ]; then pass "resumed run: the same 40 per-step losses"
else fail "resumed run differs: $(diff "$TMPD/u.cols" "$TMPD/k.cols" | head -4 | tr '\n' ' ')"; fi
cut -d, -f1-6 "$TMPD/u.val.csv" >"$TMPD/u.v"; cut -d, -f1-6 "$TMPD/k.val.csv" >"$TMPD/k.v"
if cmp -s "$TMPD/u.v" "$TMPD/k.v"; then pass "resumed run: the same validations"; else fail "validations differ"; fi
if cmp -s "$TMPD/u.safetensors" "$TMPD/k.safetensors"; then pass "resumed run: the same best checkpoint, byte for byte"
else fail "best checkpoints differ"; fi

# ---- YAML config, the command line winning ----
cat >"$TMPD/run.yaml" <<YAML
kind: train
model: $F/llava-tiny
tokenizer: $LTOK
data: $D/conv.json
image_root: $D/images
output: $TMPD/y.safetensors
val_ids: [t00, t05]
threads: 1
training: {max_steps: 50, lr: 1.0e-3, schedule: cosine, warmup: 2}
YAML
check_ok "--config with overrides" "$FC_BIN/fc-train" llava --config "$TMPD/run.yaml" --max-steps 4 --lr 2e-3
check_grep "--max-steps wins over the file" '^4,' "$TMPD/y.steps.csv"
if ! grep -q '^5,' "$TMPD/y.steps.csv"; then pass "no step beyond the command line's 4"; else fail "ran past --max-steps"; fi
check_grep "warmup from the file, lr from the command line" '^2,0,1,[0-9]+,0.002,' "$TMPD/y.steps.csv"
"$FC_BIN/fc-eval" inspect "$TMPD/y.safetensors" >"$TMPD/meta" 2>&1
check_grep "val_ids from the file" '^  val_ids: \["t00","t05"\]$' "$TMPD/meta"

# ---- precision: the YAML key applies when neither --precision nor FC_PRECISION is given ----
sed 's/^threads: 1$/threads: 1\nprecision: bf16/' "$TMPD/run.yaml" >"$TMPD/prec.yaml"
check_ok "YAML precision: bf16" env -u FC_PRECISION "$FC_BIN/fc-train" llava --config "$TMPD/prec.yaml" --max-steps 1 \
  --out "$TMPD/p16.safetensors"
# where this build or CPU has no bf16 GEMM the key warns and the run is f32 (kernels/wpack.h)
want=bf16; grep -q "running with f32" "$TMPD/err" && want=f32
check_grep "YAML precision: the run says $want" "threads, precision $want" "$TMPD/err"
"$FC_BIN/fc-eval" inspect "$TMPD/p16.safetensors" >"$TMPD/meta" 2>&1
check_grep "YAML precision: the checkpoint records $want" "^  precision: $want$" "$TMPD/meta"
check_ok "--precision f32 over the YAML key" env -u FC_PRECISION "$FC_BIN/fc-train" llava --config "$TMPD/prec.yaml" \
  --max-steps 1 --out "$TMPD/p32.safetensors" --precision f32
check_grep "--precision f32 wins over the YAML key" "threads, precision f32" "$TMPD/err"
check_ok "FC_PRECISION=f32 over the YAML key" env FC_PRECISION=f32 "$FC_BIN/fc-train" llava --config "$TMPD/prec.yaml" \
  --max-steps 1 --out "$TMPD/pe.safetensors"
check_grep "FC_PRECISION wins over the YAML key" "threads, precision f32" "$TMPD/err"

check_ok "configs/train-tiny.yaml" "$FC_BIN/fc-train" llava --config configs/train-tiny.yaml --tokenizer "$LTOK" \
  --out "$TMPD/c.safetensors" --max-steps 3 --val-every 2

# a separate validation file (ids renamed), and one that shares ids with the training data
sed 's/"id": "t/"id": "v/' $D/conv.json >"$TMPD/val.json"
check_ok "--val-data" "$FC_BIN/fc-train" "${L[@]}" --val-data "$TMPD/val.json" --out "$TMPD/vd.safetensors" --max-steps 2
"$FC_BIN/fc-eval" inspect "$TMPD/vd.safetensors" >"$TMPD/meta" 2>&1
check_grep "--val-data samples are the validation ids" '^  val_ids: \["v00",' "$TMPD/meta"
check_error "--val-data sharing ids with --data" "and $D/conv.json: sample id 't00' appears more than once" \
  "$FC_BIN/fc-train" "${L[@]}" --val-data $D/conv.json --out "$TMPD/x.safetensors"

# ---- the other family, the teacher's own targets, the fastcache loss ----
check_ok "train minicpmv-tiny" "$FC_BIN/fc-train" minicpm --model $F/minicpmv-tiny --data $D/conv.json --images $D/images \
  --out "$TMPD/m.safetensors" --max-steps 6 --threads 1
check_ok "targets teacher" "$FC_BIN/fc-train" "${L[@]}" --out "$TMPD/t.safetensors" --max-steps 3 --targets teacher \
  --max-new-tokens 8
check_ok "fastcache loss" "$FC_BIN/fc-train" "${L[@]}" --out "$TMPD/f.safetensors" --max-steps 3 --loss fastcache

# ---- --init from a FastCache checkpoint converted by tools/convert_fastcache_pth.py ----
check_ok "init from a converted FastCache .pth" "$FC_BIN/fc-train" "${L[@]}" --out "$TMPD/i.safetensors" --max-steps 3 \
  --init $D/fastcache_llava_tiny.safetensors
"$FC_BIN/fc-eval" inspect "$TMPD/i.safetensors" >"$TMPD/meta" 2>&1
check_grep "the converted compressor keeps its MLP width" '^  hidden: 8$' "$TMPD/meta"

# ---- fc-train grad ----
check_ok "grad" "$FC_BIN/fc-train" grad --model $F/llava-tiny --tokenizer "$LTOK" --ccm "$TMPD/a.safetensors" \
  --data $D/conv.json --images $D/images --ids t00,t02 --out "$TMPD/g.safetensors"
check_grep "grad prints the loss" '^loss [0-9.e-]+ kl ' "$TMPD/out"
"$FC_BIN/fc-eval" inspect "$TMPD/g.safetensors" >"$TMPD/meta" 2>&1
check_grep "grad writes every CCM tensor and the loss" 'totals: 49 tensors' "$TMPD/meta"

# ---- bad input, both builds ----
for b in "$FC_BIN" "$FC_ASAN_BIN"; do
  [ -x "$b/fc-train" ] || continue
  check_error "malformed JSON ($b)" 'malformed.json: not valid JSON' "$b/fc-train" "${LB[@]}" --data $D/bad/malformed.json \
    --out "$TMPD/x.safetensors"
  check_error "missing image ($b)" "image 'gqa/not-there.jpg' not found" "$b/fc-train" "${LB[@]}" --data $D/bad/missing_image.json \
    --out "$TMPD/x.safetensors"
  check_error "sample without an answer ($b)" "id 't01'.*answer" "$b/fc-train" "${LB[@]}" --data $D/bad/no_answer.json \
    --out "$TMPD/x.safetensors"
  check_error "prompt longer than the context ($b)" "sample 'long'" "$b/fc-train" "${LB[@]}" --data $D/bad/long_prompt.json \
    --out "$TMPD/x.safetensors"
  check_error "checkpoint of another layout ($b)" 'compressor is for 2 layers of head dim 64' "$b/fc-train" "${L[@]}" \
    --init "$TMPD/m.safetensors" --out "$TMPD/x.safetensors"
  check_error "resume from another model ($b)" 'compressor is for 2 layers of head dim 64' "$b/fc-train" "${L[@]}" \
    --resume "$TMPD/m.last.safetensors" --out "$TMPD/x.safetensors"
  check_error "resume with another layout ($b)" 'another model or compressor layout' "$b/fc-train" "${L[@]}" \
    --resume "$TMPD/k.last.safetensors" --position-rule compressed --out "$TMPD/x.safetensors" --max-steps 41
  check_error "resume file missing ($b)" 'no such checkpoint' "$b/fc-train" "${L[@]}" --resume "$TMPD/none.safetensors" \
    --out "$TMPD/x.safetensors"
  check_error "minicpm model for llava ($b)" 'not llava' "$b/fc-train" llava --model $F/minicpmv-tiny --data $D/conv.json \
    --images $D/images --out "$TMPD/x.safetensors"
  check_error "bad option value ($b)" '--lr: expected a number' "$b/fc-train" "${L[@]}" --lr fast --out "$TMPD/x.safetensors"
  check_error "unknown option ($b)" "unknown option '--learning-rate'" "$b/fc-train" "${L[@]}" --learning-rate 1
  check_error "grad: unknown id ($b)" "no sample with id 'zz'" "$b/fc-train" grad --model $F/llava-tiny --tokenizer "$LTOK" \
    --ccm "$TMPD/a.safetensors" --data $D/conv.json --images $D/images --ids zz --out "$TMPD/g2.safetensors"
done
# a short training run under ASan+UBSan (leaks, bounds, UB in the loop, validation, save and resume)
if [ -x "$FC_ASAN_BIN/fc-train" ]; then
  check_ok "ASan run" "$FC_ASAN_BIN/fc-train" "${L[@]}" --out "$TMPD/s.safetensors" --max-steps 4 --save-every 2 --val-every 3
  check_ok "ASan resume" "$FC_ASAN_BIN/fc-train" "${L[@]}" --out "$TMPD/s.safetensors" --max-steps 6 --save-every 2 \
    --val-every 3 --resume "$TMPD/s.last.safetensors"
fi
finish
