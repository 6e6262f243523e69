#!/usr/bin/env bash
# run.sh: `make bench`: runs every bench/*.sh in turn; each prints its measurements and the ratio against its
# peer (PyTorch/transformers, the safetensors library, tokenizers, ...) measured in the same run on this machine.
# Peers come from the Python environment in $PYTHON (default: build/venv made by tools/make-fixtures.sh).
set -uo pipefail
cd "$(dirname "$0")/.."
export BIN=${BIN:-bin} BUILD=${BUILD:-build} SHARED=${SHARED:-../shared}
if [ -z "${PYTHON:-}" ] || [ "$PYTHON" = python3 ]; then
  if [ ! -x build/venv/bin/python ]; then
    python3 -m venv build/venv && build/venv/bin/pip install -q -r tools/requirements.txt
  fi
  PYTHON=build/venv/bin/python
fi
export PYTHON
status=0
for b in bench/*.sh; do
  [ "$(basename "$b")" = run.sh ] && continue
  echo "== $(basename "$b" .sh)"
  bash "$b" || { echo "bench $(basename "$b") failed"; status=1; }
done
exit $status
