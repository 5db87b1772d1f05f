"""PDF to text, page by page: pypdf's text where a page has some, OCR (ocr.py) of the page
rendered by pypdfium2 where it has none — a scanned page — so a PDF with a few scanned
pages keeps its text pages as text. Pages are joined by a blank line, as before OCR was
added; each page is a section, so a citation names its page. A PDF with scanned pages is
not put through the scraped-page cleaning rules (service/ingest/clean.py), which would take
OCR'd short lines for navigation.
"""

from __future__ import annotations

import io
from typing import Any

from service.errors import BadDocument, EncryptedDocument, NoTextFound, OverBudget
from service.ingest.formats.base import MAX_PIXELS, MAX_TEXT_CHARS, RawDocument
from service.ingest.formats.ocr import OcrUnavailable, ocr_text
from service.records import Section

#: Resolution scanned pages are rendered at for OCR (Tesseract reads best near 300 dpi).
OCR_DPI = 300


def _open(name: str, data: bytes) -> Any:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _decrypts(reader):
            raise EncryptedDocument(name, "password-protected PDF; save a copy without the "
                                    "password")
        return reader
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise BadDocument(name, f"unreadable PDF: {exc}") from exc


def _decrypts(reader: Any) -> bool:
    """Many PDFs are encrypted with an empty user password (only printing or copying is
    restricted): those open as they are."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # pypdf's DependencyError for AES without `cryptography`, and others
        return False


def _page_texts(name: str, data: bytes, reader: Any) -> list[tuple[str, bool]]:
    """(text, read by OCR) of each page; a scanned page is "" when OCR is not available
    and raises OcrUnavailable only when no page has text of its own."""
    from pypdf.errors import PyPdfError

    try:
        texts = [(page.extract_text() or "").strip() for page in reader.pages]
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        raise BadDocument(name, f"unreadable PDF: {exc}") from exc
    pages = []
    document = None
    for number, text in enumerate(texts):
        if text:
            pages.append((text, False))
            continue
        if document is None:
            document = _pdfium(name, data)
        try:
            pages.append((ocr_text(name, _render(name, document, number)), True))
        except OcrUnavailable:
            if not any(texts):
                raise
            pages.append(("", True))
    return pages


def _pdfium(name: str, data: bytes) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise BadDocument(name, f"unreadable PDF: {exc}") from exc


def _render(name: str, document: Any, number: int) -> Any:
    page = document[number]
    width, height = page.get_size()
    scale = OCR_DPI / 72
    if width * height * scale * scale > MAX_PIXELS:
        scale = (MAX_PIXELS / max(width * height, 1.0)) ** 0.5
        if scale < 0.5:
            raise OverBudget(name, f"page {number + 1} is {width:,.0f} x {height:,.0f} "
                             "points, too big to render for OCR")
    return page.render(scale=scale, grayscale=True).to_pil()


def read_pdf(name: str, data: bytes) -> RawDocument:
    reader = _open(name, data)
    title = reader.metadata.title if reader.metadata else None
    try:
        pages = _page_texts(name, data, reader)
    except OcrUnavailable as exc:
        raise NoTextFound(name, f"PDF has no extractable text and {exc.reason}") from exc
    parts: list[str] = []
    sections: list[Section] = []
    size = 0
    for number, (text, ocr) in enumerate(pages, start=1):
        if not text:
            continue
        if parts:
            parts.append("\n\n")
            size += 2
            sections[-1].end = size
        sections.append(Section(start=size, end=size + len(text), kind="page",
                                number=number, ocr=ocr))
        parts.append(text)
        size += len(text)
        if size > MAX_TEXT_CHARS:
            raise OverBudget(name, f"more than {MAX_TEXT_CHARS:,} characters of text")
    if not parts:
        scanned = any(ocr for _, ocr in pages)
        raise NoTextFound(name, "OCR found no text in the PDF's pages" if scanned
                          else "PDF has no pages with text")
    # OCR'd pages are short unpunctuated lines (a form, a card, minutes) that the
    # scraped-page rules would take for navigation and footers: no web cleaning for them.
    return RawDocument(text="".join(parts), title_hint=title or None, sections=sections,
                       web_cleaning=not any(s.ocr for s in sections))
