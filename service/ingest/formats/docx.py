"""Word (.docx) to text with python-docx: paragraphs and tables in reading order, each
table row with its column headers, headers and footers once, tracked changes accepted.
Each heading starts a section, so a citation names the heading it is under (Word files
have no pages until they are laid out).

Tracked changes are read from the XML, not from python-docx's `Paragraph.text`, which
skips the runs inside `<w:ins>` (inserted text) along with those inside `<w:del>`: the
text of a document with its changes accepted is every run except deleted and moved-away
ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from service.errors import BadDocument
from service.ingest.formats.base import RawDocument, SectionWriter
from service.ingest.formats.ooxml import open_package

# Runs whose text counts once changes are accepted, and the parts of a run that are text.
_ACCEPTED_TEXT = ("./descendant::w:r[not(ancestor::w:del) and not(ancestor::w:moveFrom)]"
                  "/*[self::w:t or self::w:tab or self::w:br or self::w:cr]")


def paragraph_text(p: Any) -> str:
    parts = []
    for node in p.xpath(_ACCEPTED_TEXT):
        tag = node.tag.rsplit("}", 1)[-1]
        parts.append((node.text or "") if tag == "t" else " " if tag == "tab" else "\n")
    return re.sub(r"[ \t]+", " ", "".join(parts)).strip()


def _cell_text(cell: Any) -> str:
    return " ".join(t for p in cell._tc.xpath("./w:p") if (t := paragraph_text(p)))


def table_rows(table: Any) -> Iterator[str]:
    """Each row as one line; with a header row, every cell named by its column."""
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:  # a merged cell comes once per grid column it spans
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(_cell_text(cell))
        rows.append(cells)
    header = rows[0] if len(rows) > 1 and all(rows[0]) else None
    for cells in rows[1:] if header else rows:
        if header and len(cells) == len(header):
            line = " | ".join(f"{h}: {c}" for h, c in zip(header, cells, strict=True) if c)
        else:
            line = " | ".join(c for c in cells if c)
        if line:
            yield line


def _style_names(document: Any) -> dict[str, str]:
    """Style id -> name, read once (python-docx's Paragraph.style looks it up each time:
    most of the reading time of a long document)."""
    names = {}
    for style in document.styles:
        try:
            names[style.style_id] = style.name or ""
        except (KeyError, ValueError, AttributeError):
            continue
    return names


def _style(p: Any, names: dict[str, str]) -> str:
    ppr = p.pPr
    style_id = ppr.pStyle.val if ppr is not None and ppr.pStyle is not None else None
    return names.get(style_id, "") if style_id else ""


def _margins(document: Any, part: str) -> list[str]:
    """Header or footer paragraphs of every section, each text once."""
    texts: list[str] = []
    for section in document.sections:
        for name in (part, f"first_page_{part}", f"even_page_{part}"):
            block = getattr(section, name)
            if block.is_linked_to_previous and name == part and texts:
                continue
            for p in block.paragraphs:
                text = paragraph_text(p._p)
                if text and text not in texts:
                    texts.append(text)
    return texts


def read_docx(name: str, data: bytes) -> RawDocument:
    import docx
    from docx.table import Table

    package = open_package(name, data, "Word")
    try:
        document = docx.Document(package)
    except Exception as exc:  # python-docx raises KeyError, ValueError, lxml errors, …
        raise BadDocument(name, f"unreadable Word file ({type(exc).__name__}: {exc})") from exc
    out = SectionWriter(name)
    title = (document.core_properties.title or "").strip() or None
    styles = _style_names(document)
    for text in _margins(document, "header"):
        out.line(text)
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            for line in table_rows(block):
                out.line(line)
            continue
        text = paragraph_text(block._p)
        if not text:
            continue
        style = _style(block._p, styles)
        if style.startswith("Heading"):
            out.begin("section", heading=text[:120])
        elif style == "Title":
            out.blank()
        if title is None and (style == "Title" or style.startswith("Heading")):
            title = text
        out.line(text)
    for text in _margins(document, "footer"):
        out.line(text)
    body, sections = out.finish()
    return RawDocument(text=body, title_hint=title, sections=sections, web_cleaning=False)
