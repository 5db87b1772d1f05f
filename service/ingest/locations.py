"""Where a span of a document's text came from: its page, sheet and rows, slide or
message, read off the document's sections (service/records.py `Section`).

Readers record sections as offsets into the text they produce; cleaning and screening
then drop lines and characters. `carry_sections` moves the sections onto the final text by
matching its lines back to the reader's lines in order (lines compared by their letters
and digits, so collapsed spaces and `[n]` → `(n)` still match); a section starts at the
first surviving line of its own. `locate` turns the sections a span touches into the
short label a citation shows. This module owns those labels' wording.
"""

from __future__ import annotations

import bisect
import re

from service.records import Location, Section

#: How far ahead a line is looked for among the reader's lines (lines dropped between).
_LOOKAHEAD = 400
_NOT_WORD = re.compile(r"[\W_]+")


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer("\n", text)]


def _key(line: str) -> str:
    return _NOT_WORD.sub("", line).casefold()


def _final_line_sources(raw: str, final: str) -> tuple[list[int], list[int]]:
    """For each line of `final` (its start offset), the index of the raw line it came
    from (non-decreasing: text is never reordered)."""
    raw_keys = [_key(line) for line in raw.split("\n")]
    starts = _line_starts(final)
    sources: list[int] = []
    cursor = 0
    for line in final.split("\n"):
        key = _key(line)
        found = None
        if key:
            for j in range(cursor, min(cursor + _LOOKAHEAD, len(raw_keys))):
                if raw_keys[j] == key or (len(key) >= 24 and raw_keys[j].startswith(key[:24])):
                    found = j
                    break
        if found is not None:
            cursor = found
        sources.append(cursor)
        if found is not None:
            cursor = found + 1
    return starts, sources


def carry_sections(raw: str, final: str, sections: list[Section]) -> list[Section]:
    """The reader's sections (offsets into `raw`) as offsets into `final`."""
    if not sections:
        return []
    if raw == final:
        return sections
    raw_starts = _line_starts(raw)
    starts, sources = _final_line_sources(raw, final)

    def moved(offset: int) -> int:
        line = bisect.bisect_right(raw_starts, offset) - 1
        i = bisect.bisect_left(sources, line)
        return starts[i] if i < len(starts) else len(final)

    carried: list[Section] = []
    for section in sections:
        rows = [(number, moved(at)) for number, at in section.rows]
        carried.append(section.model_copy(update={"start": moved(section.start),
                                                  "rows": rows}))
    for section, following in zip(carried, [*carried[1:], None], strict=True):
        section.end = following.start if following else len(final)
    return [s for s in carried if s.end > s.start]


def clip(sections: list[Section], start: int, end: int) -> list[Section]:
    """The sections touching `[start, end)`, sheet rows cut to those touching it too."""
    touching = [s for s in sections if s.start < end and start < s.end]
    clipped = []
    for section in touching:
        if section.rows:
            ends = [at for _, at in section.rows[1:]] + [section.end]
            rows = [(n, at) for (n, at), stop in zip(section.rows, ends, strict=True)
                    if at < end and start < stop]
            section = section.model_copy(update={"rows": rows})
        clipped.append(section)
    return clipped


def _span(word: str, first: int, last: int) -> str:
    return f"{word} {first}" if first == last else f"{word}s {first}-{last}"


def locate(sections: list[Section], start: int, end: int) -> Location | None:
    """Where `[start, end)` came from, or None when the document has no sections there."""
    touching = clip(sections, start, end)
    if not touching:
        return None
    first = touching[0]
    same = [s for s in touching if s.kind == first.kind]
    ocr = any(s.ocr for s in touching)
    if first.kind in ("page", "slide"):
        numbers = [s.number or 0 for s in same]
        lo, hi = min(numbers), max(numbers)
        label = _span(first.kind, lo, hi)
        scanned = [s.number or 0 for s in same if s.ocr]
        if scanned and len(scanned) == len(same):
            label += ", read by OCR"
        elif scanned:
            label += f", {_span(first.kind, min(scanned), max(scanned))} read by OCR"
        if first.kind == "page":
            return Location(kind="page", label=label, page=lo, page_to=hi, ocr=ocr)
        return Location(kind="slide", label=label, slide=lo, slide_to=hi, ocr=ocr)
    if first.kind == "sheet":
        sheet = [s for s in same if s.sheet == first.sheet]
        numbers = [n for s in sheet for n, _ in s.rows]
        label = f"sheet {first.sheet}"
        if numbers:
            label += ", " + _span("row", min(numbers), max(numbers))
        if len({s.sheet for s in same}) > 1:
            label += " and more sheets"
        return Location(kind="sheet", label=label, sheet=first.sheet,
                         row_from=min(numbers, default=None), row_to=max(numbers, default=None))
    if first.kind == "section":
        headings = [s.heading for s in same if s.heading]
        label = f"section “{headings[0]}”" + (f" to “{headings[-1]}”" if len(headings) > 1
                                               else "")
        return Location(kind="section", label=label, heading=first.heading)
    sender = first.sender or "unknown sender"
    label = f"message from {sender}" + (f" on {first.sent[:10]}" if first.sent else "")
    return Location(kind="message", label=label, sender=first.sender, sent=first.sent)
