#!/usr/bin/env bash
# make-fixtures.sh: `make fixtures`: regenerate every committed test fixture with the Python reference
# libraries (torch, transformers, tokenizers, safetensors, Pillow, kvpress from PyPI). Needs network access
# to PyPI for the first run (it makes a virtual environment in build/venv unless PYTHON is given).
# Each generator is deterministic (seeded) and records the library versions in what it writes.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYTHON:-}" ] || [ "$PYTHON" = python3 ]; then
  if [ ! -x build/venv/bin/python ]; then
    python3 -m venv build/venv
    build/venv/bin/pip install -q -r tools/requirements.txt
  fi
  PYTHON=build/venv/bin/python
fi
export SHARED=${SHARED:-../shared}
# one line per generator, in dependency order
generators=(
  make_safetensors_fixtures.py
  make_corpus.py
  make_config_fixtures.py
  make_config_corpus.py
  make_llm_fixtures.py
  make_vision_fixtures.py
  make_vlm_fixtures.py
  make_ops_fixtures.py
  make_compress_fixtures.py
  make_grad_fixtures.py
  make_image_fixtures.py
  make_resize_order_fixtures.py
  make_tokenizer_fixtures.py
  make_capture_fixtures.py
  make_data_fixtures.py
)
for g in "${generators[@]}"; do
  echo "fixtures: $g"
  "$PYTHON" "tools/$g"
done
