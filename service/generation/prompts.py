"""Prompt templates live as files in prompts/ and are loaded by name, never inlined."""

from __future__ import annotations

import functools
from pathlib import Path

from service.errors import ConfigError

PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"


@functools.cache
def _read(directory: Path, name: str) -> str:
    path = directory / f"{name}.md"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError as exc:
        raise ConfigError(f"prompt {name!r} not found at {path}") from exc


def prompt(name: str, directory: Path = PROMPTS_DIR, **values: object) -> str:
    """The template `name`, filled with `values` (str.format fields)."""
    template = _read(directory, name)
    try:
        return template.format(**values) if values else template
    except KeyError as exc:
        raise ConfigError(f"prompt {name!r} needs a value for {exc}") from exc
