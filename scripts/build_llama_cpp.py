"""Build the llama-cpp-python wheel the service installs (run by scripts/install.sh).

llama-cpp-python compiles llama.cpp for the build host's CPU by default (GGML_NATIVE). Such
a build crashes on a CPU without the host's instructions, and on AMX hosts (Sapphire
Rapids class, common cloud instances) its AMX path faulted on the first forward pass. This
build compiles llama.cpp's CPU backend once per x86-64 level below, as modules that
llama.cpp scores against the running CPU and loads the best of (GGML_BACKEND_DL with
GGML_CPU_ALL_VARIANTS, its list cut to these levels and without the AMX one); the rest
of llama.cpp is compiled for plain x86-64. service/generation/llama_engine.py loads the
modules from the package's lib/ folder. On other architectures the build is llama.cpp's
portable default (GGML_NATIVE=OFF).

    python scripts/build_llama_cpp.py --version 0.3.36 --out DIR
    python scripts/build_llama_cpp.py --version 0.3.36 --out DIR --cmake-args "-DGGML_NATIVE=ON"
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

#: x86-64 levels the CPU backend is compiled for (llama.cpp's variant names and features).
VARIANTS = {
    "haswell": "SSE42 AVX F16C FMA AVX2 BMI2",
    "alderlake": "SSE42 AVX F16C FMA AVX2 BMI2 AVX_VNNI",
    "skylakex": "SSE42 AVX F16C FMA AVX2 BMI2 AVX512",
    "icelake": "SSE42 AVX F16C FMA AVX2 BMI2 AVX512 AVX512_VBMI AVX512_VNNI",
    "zen4": "SSE42 AVX F16C FMA AVX2 BMI2 AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16",
}
DISPATCH_ARGS = ("-DGGML_NATIVE=OFF -DGGML_BACKEND_DL=ON -DGGML_CPU_ALL_VARIANTS=ON "
                 "-DLLAVA_BUILD=OFF")
PORTABLE_ARGS = "-DGGML_NATIVE=OFF -DLLAVA_BUILD=OFF"


def patch_variants(source: Path) -> None:
    """Cut llama.cpp's x86 variant list to VARIANTS and have the package install them."""
    ggml = source / "vendor/llama.cpp/ggml/src/CMakeLists.txt"
    text = ggml.read_text()
    block = re.compile(r'(GGML_CPU_ALL_VARIANTS requires GGML_BACKEND_DL.*?'
                       r'if \(GGML_SYSTEM_ARCH STREQUAL "x86"\)\n)(.*?)'
                       r'(\s*elseif ?\(GGML_SYSTEM_ARCH STREQUAL "ARM"\))', re.S)
    lines = "".join(f"        ggml_add_cpu_backend_variant({name} {features})\n"
                    for name, features in VARIANTS.items())
    patched, count = block.subn(lambda m: m.group(1) + lines.rstrip("\n") + m.group(3), text)
    if count != 1:
        raise SystemExit(f"{ggml}: the x86 variant list was not found; update this script")
    ggml.write_text(patched)
    package = source / "CMakeLists.txt"
    text = package.read_text()
    anchor = "    llama_cpp_python_install_target(ggml-cpu)\n"
    if anchor not in text:
        raise SystemExit(f"{package}: no install of ggml-cpu found; update this script")
    installs = "".join(f"    llama_cpp_python_install_target(ggml-cpu-{name})\n"
                       for name in VARIANTS)
    package.write_text(text.replace(anchor, anchor + installs))


def build(version: str, out: Path, cmake_args: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="llama-build-") as tmp:
        work = Path(tmp)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--no-binary", ":all:", "-d", str(work),
                        f"llama-cpp-python=={version}"], check=True)
        archive = next(work.glob("llama_cpp_python-*.tar.gz"))
        with tarfile.open(archive) as tar:
            tar.extractall(work, filter="data")
        source = next(p for p in work.iterdir() if p.is_dir())
        if cmake_args is None:
            if platform.machine() in ("x86_64", "AMD64"):
                patch_variants(source)
                cmake_args = DISPATCH_ARGS
            else:
                cmake_args = PORTABLE_ARGS
        print(f"Building llama-cpp-python {version} with {cmake_args}", flush=True)
        env = {**os.environ, "CMAKE_ARGS": cmake_args,
               "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 2)}
        subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                        "--no-cache-dir",
                        "-w", str(out), str(source)], check=True, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", required=True)
    parser.add_argument("--out", type=Path, required=True, help="where the wheel goes")
    parser.add_argument("--cmake-args", help="build with these instead (no variant list)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    build(args.version, args.out, args.cmake_args)


if __name__ == "__main__":
    main()
