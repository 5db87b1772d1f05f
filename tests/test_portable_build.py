"""The installed llama.cpp runs on any x86-64 CPU with AVX2 (scripts/build_llama_cpp.py):
its CPU kernels are modules compiled per x86-64 level and picked at run time for the CPU
at hand, none of them uses AMX (it faulted on virtualised Sapphire Rapids hosts), and
nothing outside those modules needs more than the plain x86-64 baseline."""

from __future__ import annotations

import platform
import re
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(platform.machine() != "x86_64", reason="x86-64 builds only")]

#: Instructions (or registers) by the CPU feature they need, as objdump writes them.
NEEDS = {
    "AVX": r"%ymm\d",
    "AVX512": r"%zmm\d|%k[1-7]\b|%[xy]mm(1[6-9]|2\d|3[01])\b",
    "VNNI": r"\bvpdp(bu|ws)sds?\b",
    "VBMI": r"\bvperm[it]2b\b|\bvpermb\b|\bvpmultishiftqb\b",
    "BF16": r"\bvdpbf16ps\b|\bvcvtne2?ps2bf16\b",
    "AMX": r"\b(tileloadd|tileloaddt1|tilestored|tilezero|tilerelease|ldtilecfg|sttilecfg|"
           r"tdpb[su][su]d|tdpbf16ps|tdpfp16ps)\b",
}
#: What each CPU module may use (the rest of llama.cpp: none of NEEDS).
ALLOWED = {
    "haswell": {"AVX"},
    "alderlake": {"AVX", "VNNI"},
    "skylakex": {"AVX", "AVX512"},
    "icelake": {"AVX", "AVX512", "VNNI", "VBMI"},
    "zen4": {"AVX", "AVX512", "VNNI", "VBMI", "BF16"},
}


def _lib() -> Path:
    import llama_cpp

    return Path(llama_cpp.__file__).parent / "lib"


def _used(path: Path) -> set[str]:
    listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(path)],
                             capture_output=True, text=True, check=True).stdout
    return {need for need, pattern in NEEDS.items() if re.search(pattern, listing)}


def test_each_cpu_module_uses_only_the_instructions_of_its_level() -> None:
    modules = {p.name[len("libggml-cpu-"):-len(".so")]: p
               for p in _lib().glob("libggml-cpu-*.so")}
    assert set(modules) == set(ALLOWED), "the build's CPU levels changed"
    for level, path in modules.items():
        beyond = _used(path) - ALLOWED[level]
        assert not beyond, f"{path.name} uses {sorted(beyond)}"


def test_the_rest_of_llama_cpp_needs_only_baseline_x86_64() -> None:
    others = [p for p in _lib().glob("lib*.so") if not p.name.startswith("libggml-cpu-")]
    assert {p.name for p in others} >= {"libllama.so", "libggml.so", "libggml-base.so"}
    for path in others:
        assert not _used(path), f"{path.name} uses {sorted(_used(path))}"


def test_the_kernels_picked_at_run_time_are_the_best_this_cpu_runs_without_amx() -> None:
    from service.generation.llama_engine import system_info

    features = dict(re.findall(r"([A-Z0-9_]+) = (\d)", system_info()))
    flags = set(re.search(r"^flags\s*:(.*)$", Path("/proc/cpuinfo").read_text(),
                          re.M).group(1).split())  # type: ignore[union-attr]
    assert features.get("AVX2") == "1" and features.get("FMA") == "1"
    assert features.get("AVX512", "0") == ("1" if "avx512f" in flags else "0")
    assert not any(v == "1" for k, v in features.items() if k.startswith("AMX"))
