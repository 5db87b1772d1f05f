"""Spreadsheets (.xlsx with openpyxl, .csv with the csv module) to text: one section per
sheet, each row on a line of its own with its column headers, so a row is understood
alone: "Invoice: 0417 | Milestone: mechanical completion | Amount: €257,600 | Status: on
hold". The header is the sheet's first non-empty row. Formulas give their cached values
(openpyxl's data_only: the value Excel computed when it last saved the file), dates are
ISO dates, and numbers keep the currency, thousands separators and percent of their cell
format. A citation names the sheet and the rows its span covers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator
from typing import Any

from service.errors import BadDocument, NoTextFound, OverBudget
from service.ingest.formats.base import MAX_CELL_CHARS, MAX_COLUMNS, RawDocument, SectionWriter
from service.ingest.formats.ooxml import open_package

_CURRENCY = re.compile(r"[€$£¥]")
Row = tuple[int, list[tuple[Any, str]]]  # (row number, [(value, number format)])


def format_value(value: Any, number_format: str = "General") -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return _format_number(value, number_format)
    return " ".join(str(value).split())


def _format_number(value: float, number_format: str) -> str:
    fmt = number_format or "General"
    if "%" in fmt:
        return f"{value * 100:g}%"
    decimals = len(m.group(1)) if (m := re.search(r"0\.(0+)", fmt)) else None
    grouped = "#,##" in fmt or "#,#" in fmt
    if decimals is not None:
        text = f"{value:,.{decimals}f}" if grouped else f"{value:.{decimals}f}"
    elif float(value).is_integer():
        text = f"{int(value):,}" if grouped else str(int(value))
    else:
        text = f"{value:,}" if grouped else f"{value:g}" if abs(value) < 1e15 else str(value)
    symbol = _CURRENCY.search(fmt.split(";")[0])
    if symbol:
        sign, digits = ("-", text[1:]) if text.startswith("-") else ("", text)
        text = f"{sign}{symbol.group(0)}{digits}"
    return text


def write_sheet(out: SectionWriter, name: str, sheet: str, rows: Iterable[Row]) -> int:
    """Write one sheet as a section; the number of rows written."""
    header: list[str] | None = None
    written = 0
    for number, cells in rows:
        if len(cells) > MAX_COLUMNS:
            raise OverBudget(name, f"sheet {sheet!r} has more than {MAX_COLUMNS:,} columns")
        values = [format_value(v, f) for v, f in cells]
        if not any(values):
            continue
        if header is None:
            header = values
            out.begin("sheet", sheet=sheet)
            out.line(f"Sheet: {sheet}")
            out.row(number)
            out.line(" | ".join(v for v in values if v))
            continue
        names = [h or _column_letter(i) for i, h in enumerate(header)]
        names += [_column_letter(i) for i in range(len(names), len(values))]
        out.row(number)
        out.line(" | ".join(f"{n}: {v}" for n, v in zip(names, values, strict=False) if v))
        written += 1
    return written


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return f"column {letters}"


def _xlsx_rows(ws: Any) -> Iterator[Row]:
    for row in ws.iter_rows():
        cells = [(c.value, getattr(c, "number_format", "General")) for c in row]
        if cells:
            number = next((c.row for c in row if getattr(c, "row", None)), 0)
            while cells and cells[-1][0] is None:
                cells.pop()
            yield number, cells


def read_xlsx(name: str, data: bytes) -> RawDocument:
    import openpyxl

    package = open_package(name, data, "Excel")
    try:
        workbook = openpyxl.load_workbook(package, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises KeyError, ValueError, lxml errors, …
        raise BadDocument(name, f"unreadable Excel file ({type(exc).__name__}: {exc})") \
            from exc
    out = SectionWriter(name)
    try:
        for ws in workbook.worksheets:
            # The declared dimensions can be the whole grid (a formatted column): read the
            # cells there are instead of padding every row to 16,384 columns.
            if hasattr(ws, "reset_dimensions"):
                ws.reset_dimensions()
            write_sheet(out, name, ws.title, _xlsx_rows(ws))
        title = (workbook.properties.title or "").strip() or None
    finally:
        workbook.close()
    return _sheets_document(name, out, title)


def read_csv(name: str, text: str) -> RawDocument:
    sample = text[:16384]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    csv.field_size_limit(MAX_CELL_CHARS)
    reader = csv.reader(io.StringIO(text), dialect)
    out = SectionWriter(name)
    stem = name.rsplit("/", 1)[-1].rsplit(".", 1)[0]

    def rows() -> Iterator[Row]:
        for number, row in enumerate(reader, start=1):
            yield number, [(_csv_value(cell), "General") for cell in row]

    try:
        write_sheet(out, name, stem, rows())
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):
            raise OverBudget(name, f"a cell of more than {MAX_CELL_CHARS:,} characters") \
                from exc
        raise BadDocument(name, f"unreadable CSV ({exc})") from exc
    return _sheets_document(name, out, None)


def _csv_value(cell: str) -> Any:
    """ISO dates stay as they are; other cells are text, as the file writes them."""
    return cell.strip()


def _sheets_document(name: str, out: SectionWriter, title: str | None) -> RawDocument:
    text, sections = out.finish()
    if not text.strip():
        raise NoTextFound(name, "no cells with values")
    # The file's name, not its first line ("Sheet: Payments"), unless the workbook has a
    # title of its own.
    stem = name.replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    return RawDocument(text=text, title_hint=title or stem, sections=sections,
                       web_cleaning=False)
