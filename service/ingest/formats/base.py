"""What every format reader returns, the budgets they share, and a writer that builds a
text with its sections (service/records.py `Section`) as it goes.

The budgets bound what a file may cost once unpacked or decoded, whatever its size on
disk: a 40 KB .docx can hold gigabytes of zeros, a 100 KB PNG can declare 2 billion
pixels. A reader checks the declared size before it unpacks or decodes, and raises
`OverBudget`; the parse sandbox's address-space cap (RAG_PARSE_MEMORY_MB) and time budget
(RAG_PARSE_BUDGET_S) stay behind it as the last line.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from service.errors import OverBudget
from service.records import LocationKind, Section

#: Bytes of one file read at all (`rag ingest`; uploads have RAG_MAX_UPLOAD_BYTES).
MAX_FILE_BYTES = 500_000_000
#: Characters of text one file may produce (a book is ~1 M).
MAX_TEXT_CHARS = 20_000_000
#: Bytes an Office file (a zip) may unpack to, and its worst member's packing ratio.
MAX_UNPACKED_BYTES = 300_000_000
MAX_PACKING_RATIO = 200
#: Pixels of one image or rendered page given to OCR (7,700 x 7,700).
MAX_PIXELS = 60_000_000
#: Columns of one sheet, and characters of one cell.
MAX_COLUMNS = 1_000
MAX_CELL_CHARS = 100_000
#: Attachments read from one message, and how deep messages may nest.
MAX_ATTACHMENTS = 20
MAX_NESTING = 2


@dataclass(frozen=True)
class Attachment:
    """A file inside another (an e-mail's attachment), read as a document of its own."""

    name: str
    data: bytes


@dataclass
class RawDocument:
    text: str
    title_hint: str | None
    sections: list[Section] = field(default_factory=list)
    #: DocumentMeta fields the file itself states (an e-mail's From and Date).
    meta_hints: dict[str, str] = field(default_factory=dict)
    #: Scraped-page boilerplate rules (service/ingest/clean.py) apply: txt, md, html, pdf.
    #: Not for structured formats, where a heading or a short last row is content.
    web_cleaning: bool = True
    attachments: list[Attachment] = field(default_factory=list)
    #: Attachments left unread, with why: (name, BadDocument kind, reason).
    unread: list[tuple[str, str, str]] = field(default_factory=list)


class SectionWriter:
    """Lines of text, each section starting on a line of its own.

        out = SectionWriter(path)
        out.begin("slide", number=1)
        out.line("Slide 1: Milestones")
        text, sections = out.finish()
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._parts: list[str] = []
        self._size = 0
        self._sections: list[Section] = []

    def begin(self, kind: LocationKind, **fields: object) -> None:
        if self._parts and not self._parts[-1].endswith("\n\n"):
            self._write("\n")
        self._close()
        self._sections.append(Section(start=self._size, end=self._size, kind=kind,
                                      **fields))  # type: ignore[arg-type]

    def row(self, number: int) -> None:
        """The next line is row `number` of the current sheet section."""
        self._sections[-1].rows.append((number, self._size))

    def line(self, text: str) -> None:
        self._write(text.rstrip() + "\n")

    def blank(self) -> None:
        self._write("\n")

    def _write(self, text: str) -> None:
        self._parts.append(text)
        self._size += len(text)
        if self._size > MAX_TEXT_CHARS:
            raise OverBudget(self._name, f"more than {MAX_TEXT_CHARS:,} characters of text")

    def _close(self) -> None:
        if self._sections:
            self._sections[-1].end = self._size

    def finish(self) -> tuple[str, list[Section]]:
        self._close()
        return "".join(self._parts), [s for s in self._sections if s.end > s.start]
