"""Check eval/datasets/contracts.jsonl against the files of indexes/contracts/docs/.

    python -m tools.check_contracts_golden [--no-ocr]

For every gold quote, looks for it in a plain reference extraction of its file, made here
with the generator's libraries and independent of the service's readers: DOCX paragraphs
with tracked changes accepted (w:ins kept, w:del dropped), PPTX slide text and notes,
XLSX cell values (cached formula results), CSV cells, e-mail headers, body and PDF
attachments, PDF text layers, and Tesseract OCR for images and image-only PDF pages.
A quote is "exact" when it is a substring of that text, "spaced" when it is one only
after collapsing whitespace (a line break inside it: OCR or a PDF line wrap).

Where the service's own reader already handles a file type (service.ingest.parse), the
quote is also looked up in its cleaned text, which is what `rag eval run` searches.
Exits 1 if any quote is missing from the reference extraction.
"""

from __future__ import annotations

import argparse
import csv
import email
import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from email.message import EmailMessage
from email.policy import default as email_policy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "indexes" / "contracts" / "docs"
DATASET = ROOT / "eval" / "datasets" / "contracts.jsonl"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def docx_text(data: bytes) -> str:
    from lxml import etree

    parts = []
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        extra = sorted(n for n in z.namelist()
                       if re.fullmatch(r"word/(header|footer)\d*\.xml", n))
        names = ["word/document.xml", *extra]
        for name in names:
            root = etree.fromstring(z.read(name))
            for p in root.iter(f"{W}p"):
                # w:t holds kept and inserted text; deleted text is in w:delText.
                parts.append("".join(t.text or "" for t in p.iter(f"{W}t")))
    return "\n".join(parts)


def pptx_text(data: bytes) -> str:
    from pptx import Presentation

    out = []
    for number, slide in enumerate(Presentation(io.BytesIO(data)).slides, start=1):
        out.append(f"Slide {number}")
        for shape in slide.shapes:
            if shape.has_text_frame:
                out.extend(p.text for p in shape.text_frame.paragraphs)
        if slide.has_notes_slide:
            out.append("Notes: " + slide.notes_slide.notes_text_frame.text)
    return "\n".join(out)


def xlsx_text(data: bytes) -> str:
    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(data), data_only=True)
    out = []
    for ws in wb.worksheets:
        out.append(f"Sheet {ws.title}")
        rows = list(ws.iter_rows(values_only=True))
        header = [str(v) if v is not None else "" for v in rows[0]] if rows else []
        for row in rows[1:]:
            cells = [f"{h}: {_cell(v)}" for h, v in zip(header, row, strict=False)
                     if v is not None]
            if cells:
                out.append(" | ".join(cells))
    return "\n".join(out)


def _cell(value: object) -> str:
    if hasattr(value, "date") and hasattr(value, "hour"):
        return value.date().isoformat()  # type: ignore[attr-defined]
    return str(value)


def csv_text(data: bytes) -> str:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"))))
    return "\n".join(" | ".join(f"{h}: {v}" for h, v in zip(rows[0], row, strict=True) if v)
                     for row in rows[1:])


def eml_text(data: bytes, ocr: bool) -> str:
    msg = email.message_from_bytes(data, policy=email_policy)
    assert isinstance(msg, EmailMessage)
    out = [f"{h}: {msg[h]}" for h in ("From", "To", "Cc", "Date", "Subject") if msg[h]]
    body = msg.get_body(preferencelist=("plain",))
    if body is not None:
        out.append(body.get_content())
    for part in msg.iter_attachments():
        out.append(f"Attachment {part.get_filename()}")
        if part.get_content_type() == "application/pdf":
            out.append(pdf_text(part.get_content(), ocr))
    return "\n".join(out)


def pdf_text(data: bytes, ocr: bool) -> str:
    from pypdf import PdfReader

    out = []
    for page in PdfReader(io.BytesIO(data)).pages:
        text = (page.extract_text() or "").strip()
        if not text and ocr:
            text = "\n".join(tesseract(image.image) for image in page.images)
        out.append(text)
    return "\n\n".join(out)


def tesseract(image: object) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "page.png"
        image.save(path)  # type: ignore[attr-defined]
        done = subprocess.run(["tesseract", str(path), "-"], capture_output=True, text=True,
                              check=True)
    return done.stdout


def reference_text(path: Path, ocr: bool) -> str | None:
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".docx":
        return docx_text(data)
    if suffix == ".pptx":
        return pptx_text(data)
    if suffix == ".xlsx":
        return xlsx_text(data)
    if suffix == ".csv":
        return csv_text(data)
    if suffix == ".eml":
        return eml_text(data, ocr)
    if suffix == ".pdf":
        return pdf_text(data, ocr)
    if suffix in {".png", ".jpg", ".jpeg"}:
        if not ocr:
            return None
        from PIL import Image

        return tesseract(Image.open(path))
    raise ValueError(f"no reference reader for {path.name}")


def service_text(path: Path) -> str | None:
    """The service's cleaned text, if its readers take this type (else None)."""
    try:
        from service.errors import BadDocument
        from service.ingest.load import is_document
        from service.ingest.parse import parse_document
    except ImportError:
        return None
    if not is_document(path):
        return None
    try:
        return parse_document(path, path.read_bytes()).text
    except BadDocument as exc:
        return f"<unreadable: {exc}>"


def spaced(text: str) -> str:
    return " ".join(text.split())



def file_of(doc_id: str) -> Path:
    """The file a document id was read from: an e-mail attachment's id is its message's
    id, '#', and its own name ("email_04_noise_report.eml#noise_measurement.pdf")."""
    return DOCS / doc_id.split("#", 1)[0]

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--no-ocr", action="store_true", help="skip images and scans")
    args = parser.parse_args(argv)
    ocr = not args.no_ocr and shutil.which("tesseract") is not None
    if not args.no_ocr and not ocr:
        print("tesseract not found: OCR'd files are not checked", file=sys.stderr)

    from service.evaluation.dataset import load_dataset

    items = load_dataset(DATASET)  # validates the format
    texts: dict[str, str | None] = {}
    served: dict[str, str | None] = {}
    missing = unchecked = 0
    for item in items:
        for doc in item.gold_doc_ids:
            if not file_of(doc).is_file():
                print(f"{item.id}: no file {doc}")
                missing += 1
        for q in item.gold_quotes:
            path = file_of(q.doc_id)
            if not path.is_file():
                continue
            if q.doc_id not in texts:
                texts[q.doc_id] = reference_text(path, ocr)
                served[q.doc_id] = service_text(path)
            text, svc = texts[q.doc_id], served[q.doc_id]
            if text is None:
                status = "unchecked"
                unchecked += 1
            elif q.quote in text:
                status = "exact"
            elif spaced(q.quote) in spaced(text):
                status = "spaced"
            else:
                status = "MISSING"
                missing += 1
            if svc is None:
                service = ""
            elif svc.startswith("<unreadable"):
                service = "  service: cannot read this file yet"
            else:
                service = "  service: exact" if q.quote in svc else "  service: NOT FOUND"
            print(f"{item.id:7s} {status:9s} {q.doc_id:38s} {q.quote[:60]!r}{service}")
    counts: dict[str, int] = {}
    for item in items:
        key = "false premise" if item.id.startswith("fpr") else item.type
        counts[key] = counts.get(key, 0) + 1
    print(json.dumps({"items": len(items), **counts, "missing": missing,
                      "unchecked": unchecked}))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
