#!/usr/bin/env bash
# demo.sh: `make demo`, the main job as far as it exists: inspect the real model configs bundled in
# ../shared/data/models and tokenize a prompt with each real tokenizer.
set -euo pipefail
SHARED=${SHARED:-../shared}
BIN=${BIN:-bin}
models="$SHARED/data/models"
for m in llava-1.5-7b-hf minicpm-v-2_6; do
  echo "== $m: config and checkpoint layout"
  "$BIN/fc-eval" inspect "$models/$m" | head -n 40
done
