"""Readers for the formats beyond plain text, Markdown and HTML, one module each, chosen
by file suffix: pdf.py (with OCR of scanned pages), docx.py, slides.py (.pptx),
sheets.py (.xlsx, .csv), email.py (.eml), ocr.py (images). Each takes the file's name and
bytes and returns a `RawDocument` (base.py) or raises a `BadDocument` subclass saying why
not; service/ingest/load.py dispatches to them.
"""

from __future__ import annotations

from collections.abc import Callable

from service.ingest.formats.base import RawDocument

BinaryReader = Callable[[str, bytes], RawDocument]

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff"})


def binary_reader(suffix: str) -> BinaryReader | None:
    """The reader of a format read from bytes, or None (a text format, or unsupported)."""
    if suffix == ".pdf":
        from service.ingest.formats.pdf import read_pdf

        return read_pdf
    if suffix == ".docx":
        from service.ingest.formats.docx import read_docx

        return read_docx
    if suffix == ".pptx":
        from service.ingest.formats.slides import read_pptx

        return read_pptx
    if suffix in (".xlsx", ".xlsm"):
        from service.ingest.formats.sheets import read_xlsx

        return read_xlsx
    if suffix == ".eml":
        from service.ingest.formats.email import read_eml

        return read_eml
    if suffix in IMAGE_SUFFIXES:
        from service.ingest.formats.ocr import read_image

        return read_image
    return None


BINARY_SUFFIXES = frozenset({".pdf", ".docx", ".pptx", ".xlsx", ".xlsm", ".eml"}
                            | IMAGE_SUFFIXES)
TEXT_SUFFIXES = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".csv"})

#: Why a few common types are not read, for the operator to act on.
UNSUPPORTED_NOTES = {
    **dict.fromkeys((".mp3", ".wav", ".m4a", ".ogg", ".flac", ".aac", ".opus", ".mp4",
                     ".mov", ".avi", ".mkv", ".webm", ".wmv"),
                    "audio and video are not transcribed (no offline transcriber is "
                    "installed)"),
    ".msg": "Outlook .msg is not read; save the message as .eml",
    **dict.fromkeys((".doc", ".xls", ".ppt"), "old binary Office format; save it as "
                    ".docx, .xlsx or .pptx"),
}


def file_type(suffix: str) -> str:
    """The type a file is counted under in an ingest report ("image" for every picture)."""
    suffix = suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return "image"
    aliases = {".markdown": "md", ".htm": "html", ".jpeg": "jpg", ".tif": "tiff",
               ".xlsm": "xlsx"}
    return aliases.get(suffix, suffix.lstrip(".") or "no suffix")
