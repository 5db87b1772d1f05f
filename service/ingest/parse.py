"""Bytes of one file to the text that gets indexed: load, clean, screen.

A pure function of its inputs with a picklable result, so it can run in a worker process
(service/ingest/sandbox.py) as well as in the ingest run itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from service.errors import BadDocument
from service.ingest.clean import clean_text
from service.ingest.load import load_document
from service.ingest.screen import screen_text
from service.records import Flag


@dataclass(frozen=True)
class ParsedDocument:
    text: str = field(metadata={"doc": "cleaned and screened; chunk offsets point into it"})
    title_hint: str | None
    flags: list[Flag]


def parse_document(path: Path, data: bytes, encoding: str = "utf-8") -> ParsedDocument:
    raw = load_document(path, data, encoding)
    screened = screen_text(clean_text(raw.text).text)
    text = screened.text.strip()
    if not text:
        raise BadDocument(str(path), "nothing left after removing boilerplate")
    return ParsedDocument(text=text, title_hint=raw.title_hint, flags=screened.flags)
