"""Per-document metadata from an optional sidecar `<file>.meta.toml`.

Keys: title, source (outlet), date (YYYY-MM-DD), url, author. Only what the document
itself states belongs here; a missing key stays empty rather than guessed.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from service.errors import BadDocument
from service.ingest.load import SIDECAR_SUFFIX
from service.records import DocumentMeta


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def read_sidecar(path: Path) -> tuple[dict[str, object], bytes]:
    """The sidecar's fields and raw bytes (part of the document's change hash)."""
    sidecar = sidecar_path(path)
    if not sidecar.is_file():
        return {}, b""
    data = sidecar.read_bytes()
    try:
        fields = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BadDocument(str(sidecar), f"invalid TOML metadata: {exc}") from exc
    return fields, data


def build_meta(path: Path, fields: dict[str, object], title_hint: str | None,
               first_line: str) -> DocumentMeta:
    title = fields.get("title") or title_hint or _title_from_first_line(first_line) or path.stem
    try:
        return DocumentMeta.model_validate({**fields, "title": title})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise BadDocument(str(sidecar_path(path)), f"invalid metadata: {problems}") from exc


def _title_from_first_line(line: str) -> str | None:
    """A short first line without a final full stop is the headline."""
    line = line.strip()
    if 0 < len(line) <= 150 and not line.endswith("."):
        return line
    return None
