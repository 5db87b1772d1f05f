"""What an uploaded document may not do: replace a bundled document, or pass itself off as
a source the index already has.

Answers attribute a claim to its passage's outlet, else its title ("According to Izvestia,
…"). An upload titled "Izvestia" would have its claims attributed to Izvestia, so an upload
whose title names an existing outlet, or repeats a bundled document's title, is refused
(409) unless the operator sets RAG_UPLOADS_MAY_CLAIM_SOURCES. Refusing is safer than
relabelling: a relabelled “Izvestia” still reads as Izvestia to a hurried reader. Every
upload that is accepted is still shown as uploaded in answers and the documents API.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from service.errors import DocumentConflict
from service.ingest.metadata import build_meta
from service.ingest.parse import ParsedDocument
from service.records import Document


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def protected_labels(documents: Iterable[Document]) -> set[str]:
    """Outlets of every document and titles of bundled ones, as lower-case word strings."""
    labels: set[str] = set()
    for doc in documents:
        if doc.meta.source:
            labels.add(_words(doc.meta.source))
        if doc.provenance.origin == "bundled":
            labels.add(_words(doc.meta.title))
    return {label for label in labels if label}


def upload_title(name: str, parsed: ParsedDocument) -> str:
    first_line = parsed.text.split("\n", 1)[0]
    return build_meta(Path(name), {}, parsed.title_hint, first_line).title


def check_upload_label(name: str, title: str, labels: set[str]) -> None:
    """Refuse a title that names a protected label as whole words ("Izvestia", "Izvestia
    exclusive: …")."""
    words = f" {_words(title)} "
    for label in sorted(labels):
        if f" {label} " in words:
            raise DocumentConflict(
                f"{name}: its title {title!r} names {label!r}, a source already in this "
                "index; answers would attribute its claims to that source. Give the file "
                "another title (first line, <h1>/<title>) or ask the operator to set "
                "RAG_UPLOADS_MAY_CLAIM_SOURCES")


def check_upload_name(name: str, present: bool, uploaded_before: bool) -> None:
    """Refuse to overwrite a file of the index folder that no upload put there."""
    if present and not uploaded_before:
        raise DocumentConflict(
            f"{name}: a bundled document of this index has that name; uploads cannot "
            "replace it (choose another file name)")
