"""Bytes of one file to the text that gets indexed: load, clean, screen.

A pure function of its inputs with a picklable result, so it can run in a worker process
(service/ingest/sandbox.py) as well as in the ingest run itself. An e-mail's attachments
are read here too, each by its own reader, within the same worker and budget.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.errors import BadDocument
from service.ingest.clean import clean_text
from service.ingest.formats.base import MAX_NESTING
from service.ingest.load import load_document
from service.ingest.locations import carry_sections
from service.ingest.screen import screen_text
from service.records import Flag, Section


@dataclass(frozen=True)
class ParsedDocument:
    text: str = field(metadata={"doc": "cleaned and screened; chunk offsets point into it"})
    title_hint: str | None
    flags: list[Flag]
    sections: list[Section] = field(default_factory=list)
    #: DocumentMeta fields the file states (an e-mail's sender and date).
    meta_hints: dict[str, str] = field(default_factory=dict)
    attachments: list[ParsedAttachment] = field(default_factory=list)
    #: Attachments that could not be read: (name, BadDocument kind, reason).
    unread: list[tuple[str, str, str]] = field(default_factory=list)

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ParsedDocument:
        """The inverse of dataclasses.asdict after a JSON round trip (the sandbox's)."""
        return ParsedDocument(
            text=data["text"], title_hint=data["title_hint"],
            flags=[Flag.model_validate(f) for f in data["flags"]],
            sections=[Section.model_validate(s) for s in data.get("sections", [])],
            meta_hints=dict(data.get("meta_hints", {})),
            attachments=[ParsedAttachment(a["name"], ParsedDocument.from_dict(a["document"]))
                         for a in data.get("attachments", [])],
            unread=[(n, k, r) for n, k, r in data.get("unread", [])])


@dataclass(frozen=True)
class ParsedAttachment:
    name: str
    document: ParsedDocument


def parse_document(path: Path, data: bytes, encoding: str = "utf-8",
                   depth: int = 0) -> ParsedDocument:
    raw = load_document(path, data, encoding)
    cleaned = clean_text(raw.text).text if raw.web_cleaning else raw.text
    screened = screen_text(cleaned)
    text = screened.text.strip()
    if not text:
        raise BadDocument(str(path), "nothing left after removing boilerplate")
    attachments: list[ParsedAttachment] = []
    unread = list(raw.unread)
    for attachment in raw.attachments:
        if depth >= MAX_NESTING:
            unread.append((attachment.name, "over-budget",
                           f"attached more than {MAX_NESTING} messages deep"))
            continue
        try:
            inner = parse_document(Path(attachment.name), attachment.data, encoding,
                                   depth + 1)
        except BadDocument as exc:
            unread.append((attachment.name, exc.kind, exc.reason))
            continue
        attachments.append(ParsedAttachment(attachment.name, inner))
    return ParsedDocument(text=text, title_hint=raw.title_hint, flags=screened.flags,
                          sections=carry_sections(raw.text, text, raw.sections),
                          meta_hints=raw.meta_hints, attachments=attachments, unread=unread)
