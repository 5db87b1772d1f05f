"""The installed llama.cpp runs on any x86-64 CPU with AVX2 (scripts/install.sh): no
instruction in it needs AVX-512, AVX-VNNI or AMX, which the build host may have and the
host that runs it may not (or, for AMX on some virtualised hosts, may fault on)."""

from __future__ import annotations

import platform
import re
import subprocess
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(platform.machine() != "x86_64", reason="x86-64 builds only")]

#: AVX-512 (zmm and mask registers, the upper 16 vector registers), AMX, VNNI.
HOST_SPECIFIC = re.compile(
    r"%zmm\d|%k[1-7]\b|%[xy]mm(1[6-9]|2\d|3[01])\b|\b(tileloadd|tileloaddt1|tilestored|"
    r"tilezero|tilerelease|ldtilecfg|sttilecfg|tdpb[su][su]d|tdpbf16ps|tdpfp16ps|"
    r"vpdpbusds?|vpdpwssds?)\b")


def _libraries() -> list[Path]:
    import llama_cpp

    libs = sorted((Path(llama_cpp.__file__).parent / "lib").glob("*.so*"))
    assert any("ggml-cpu" in p.name for p in libs), libs
    return libs


def test_the_installed_llama_cpp_uses_no_instruction_beyond_avx2() -> None:
    for lib in _libraries():
        listing = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(lib)],
                                 capture_output=True, text=True, check=True).stdout
        found = sorted({m.group(0) for m in HOST_SPECIFIC.finditer(listing)})
        assert not found, f"{lib.name} uses host-specific instructions: {found[:10]}"


def test_llama_cpp_reports_avx2_on_and_avx512_and_amx_off() -> None:
    from service.generation.llama_engine import system_info

    features = dict(re.findall(r"([A-Z0-9_]+) = (\d)", system_info()))
    assert features.get("AVX2") == "1" and features.get("FMA") == "1"
    assert all(v == "0" for k, v in features.items() if k.startswith(("AVX512", "AMX")))
