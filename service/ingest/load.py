"""Read one file into raw text. Every way a file can be unusable raises BadDocument."""

from __future__ import annotations

import re
from pathlib import Path

from service.errors import BadDocument, EmptyDocument, OverBudget, UnsupportedType
from service.ingest.formats import (
    BINARY_SUFFIXES,
    TEXT_SUFFIXES,
    UNSUPPORTED_NOTES,
    BinaryReader,
    binary_reader,
)
from service.ingest.formats.base import RawDocument

__all__ = ["SIDECAR_SUFFIX", "SUPPORTED_SUFFIXES", "RawDocument", "check_supported",
           "is_sidecar", "load_document", "read_bytes"]

SUPPORTED_SUFFIXES = TEXT_SUFFIXES | BINARY_SUFFIXES
# Sidecar metadata files live next to documents and are never documents themselves.
SIDECAR_SUFFIX = ".meta.toml"


def is_sidecar(path: Path) -> bool:
    return path.name.endswith(SIDECAR_SUFFIX)


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except PermissionError as exc:
        raise BadDocument(str(path), "permission denied; check the file's access rights") from exc
    except OSError as exc:
        raise BadDocument(str(path), f"cannot be read: {exc.strerror or exc}") from exc


def check_supported(path: Path) -> None:
    """Raise UnsupportedType for a file no reader handles, before it is even read (a 2 GB
    video)."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        note = UNSUPPORTED_NOTES.get(suffix)
        raise UnsupportedType(
            str(path), f"unsupported type {suffix or '(no suffix)'!r}"
            + (f": {note}" if note else f"; supported: {' '.join(sorted(SUPPORTED_SUFFIXES))}"))


def load_document(path: Path, data: bytes, encoding: str = "utf-8") -> RawDocument:
    check_supported(path)
    suffix = path.suffix.lower()
    if not data.strip():
        raise EmptyDocument(str(path), "file is empty")
    reader = binary_reader(suffix)
    if reader is not None:
        raw = _read_binary(reader, path, data)
    else:
        text = _decode(path, data, encoding)
        if suffix in (".html", ".htm"):
            raw = _load_html(path, text)
        elif suffix in (".md", ".markdown"):
            raw = _load_markdown(text)
        elif suffix == ".csv":
            from service.ingest.formats.sheets import read_csv

            raw = read_csv(str(path), text)
        else:
            raw = RawDocument(text=text, title_hint=None)
    if not raw.text.strip() and not raw.attachments:
        raise BadDocument(str(path), "no text left after extraction")
    return raw


def _read_binary(reader: BinaryReader, path: Path, data: bytes) -> RawDocument:
    """The reader's document; whatever else a strange file makes a third-party parser
    raise is still a reason about that file, not the end of the ingest run (the parse
    sandbox draws the same line for uploads)."""
    try:
        return reader(str(path), data)
    except BadDocument:
        raise
    except RecursionError as exc:  # the stdlib e-mail parser recurses per nested part
        raise OverBudget(str(path), "parts nested too deep to read") from exc
    except MemoryError as exc:
        raise OverBudget(str(path), "needs more memory than it may have") from exc
    except Exception as exc:
        raise BadDocument(str(path), f"unreadable ({type(exc).__name__}: {exc})") from exc


def _decode(path: Path, data: bytes, encoding: str) -> str:
    if b"\x00" in data[:8192]:
        raise BadDocument(str(path), "binary content (NUL bytes), not a text document")
    try:
        text = data.decode("utf-8-sig" if encoding.lower() in ("utf-8", "utf8") else encoding)
    except UnicodeDecodeError as exc:
        raise BadDocument(
            str(path),
            f"not valid {encoding} at byte {exc.start}; convert it to UTF-8 or set "
            "`encoding` under [sources] in the index.toml",
        ) from exc
    # Text with many control characters is binary that happened to decode.
    controls = sum(1 for ch in text[:8192] if ord(ch) < 32 and ch not in "\n\r\t\f")
    if controls > 0.05 * min(len(text), 8192):
        raise BadDocument(str(path), "binary content (control characters), not a text document")
    return text


def _load_html(path: Path, text: str) -> RawDocument:
    from service.ingest.html_text import HtmlError, parse_html

    try:
        body, title = parse_html(text)
    except HtmlError as exc:
        raise BadDocument(str(path), f"unreadable HTML: {exc}") from exc
    return RawDocument(text=body, title_hint=title)


_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")


def _load_markdown(text: str) -> RawDocument:
    title = None
    match = _FRONT_MATTER.match(text)
    if match:
        for line in match.group(1).splitlines():
            key, _, value = line.partition(":")
            if key.strip().lower() == "title" and value.strip():
                title = value.strip().strip("\"'")
        text = text[match.end() :]
    lines = []
    for line in text.splitlines():
        heading = re.match(r"^\s{0,3}#{1,6}\s+(.*)$", line)
        if heading:
            line = heading.group(1).strip()
            title = title or line
        line = _MD_LINK.sub(lambda m: m.group(1), line)
        line = re.sub(r"(\*\*|__|`)", "", line)
        lines.append(line)
    return RawDocument(text="\n".join(lines), title_hint=title)
