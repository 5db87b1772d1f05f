"""PowerPoint (.pptx) to text with python-pptx: one section per slide — its title, the
text of its shapes (groups and tables included) in the slide's order, then its notes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from service.errors import BadDocument
from service.ingest.formats.base import RawDocument, SectionWriter
from service.ingest.formats.ooxml import open_package


def _shape_lines(shape: Any) -> Iterator[str]:
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
        for inner in shape.shapes:
            yield from _shape_lines(inner)
    elif getattr(shape, "has_table", False) and shape.has_table:
        rows = [[cell.text.strip() for cell in row.cells] for row in shape.table.rows]
        header = rows[0] if len(rows) > 1 and all(rows[0]) else None
        for cells in rows[1:] if header else rows:
            pairs = zip(header, cells, strict=False) if header else ((None, c) for c in cells)
            line = " | ".join(f"{h}: {c}" if h else c for h, c in pairs if c)
            if line:
                yield line
    elif getattr(shape, "has_text_frame", False) and shape.has_text_frame:
        for paragraph in shape.text_frame.paragraphs:
            text = "".join(run.text for run in paragraph.runs).strip()
            if text:
                yield text


def read_pptx(name: str, data: bytes) -> RawDocument:
    from pptx import Presentation

    package = open_package(name, data, "PowerPoint")
    try:
        deck = Presentation(package)
    except Exception as exc:  # python-pptx raises KeyError, ValueError, lxml errors, …
        raise BadDocument(name, f"unreadable PowerPoint file ({type(exc).__name__}: "
                          f"{exc})") from exc
    out = SectionWriter(name)
    title = (deck.core_properties.title or "").strip() or None
    for number, slide in enumerate(deck.slides, start=1):
        out.begin("slide", number=number)
        heading = slide.shapes.title.text_frame.text.strip() if slide.shapes.title else ""
        out.line(f"Slide {number}: {heading}" if heading else f"Slide {number}")
        title = title or heading or None
        for shape in slide.shapes:
            if shape == slide.shapes.title:
                continue
            for line in _shape_lines(shape):
                out.line(line)
        if slide.has_notes_slide:
            notes = slide.notes_slide.notes_text_frame
            text = notes.text.strip() if notes is not None else ""
            if text:
                out.line(f"Notes: {text}")
    body, sections = out.finish()
    return RawDocument(text=body, title_hint=title, sections=sections, web_cleaning=False)
