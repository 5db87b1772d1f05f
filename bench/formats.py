"""Document formats (issue 28): read throughput per format, OCR pages/s, and the per-format
readers against markitdown on fidelity and speed.

    python -m bench.formats [--ingest] [--markitdown PYTHON]

Makes a folder of files of every format (tests/documents.py builds them, some scaled up),
times `parse_document` on each (in process: the reader alone, no sandbox), and, with
`--markitdown /path/to/python` (a venv with `markitdown[docx,pptx,xlsx]`), converts the
same files with markitdown in that interpreter and checks both outputs for what a reader
of the file needs (the probes below). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import tempfile
import time
from pathlib import Path

from bench.run import emit
from service.ingest.parse import parse_document
from tests import documents as files

#: What each file's text must hold (True) or must not hold (False) to be faithful.
PROBES: dict[str, dict[str, bool]] = {
    "agreement.docx": {"EUR 1,350,000": True, "1,200,000": False,  # tracked change accepted
                       "Milestone: Mechanical completion": True,  # row with its header
                       "CONFIDENTIAL - Halden Pumps": True},
    "schedule.xlsx": {"515200": True, "2026-03-02": True, "Status: on hold": True},
    "status.pptx": {"The pressure test is booked for 2 March": True, "Risks": True},
    "thread.eml": {"anna@halden.example": True, "Why has invoice 0417 not been paid": False},
}
_MARKITDOWN = """
import json, sys, time
from markitdown import MarkItDown
md = MarkItDown()
out = {}
for path in sys.argv[1:]:
    t = time.perf_counter()
    try:
        text = md.convert(path).text_content
    except Exception as exc:
        text = f"ERROR {type(exc).__name__}: {exc}"
    out[path] = {"seconds": time.perf_counter() - t, "text": text}
print(json.dumps(out))
"""


def big_xlsx(rows: int) -> bytes:
    import datetime as dt

    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Ledger"
    ws.append(["Invoice", "Milestone", "Amount", "Due", "Status"])
    for i in range(rows):
        ws.append([f"{i:05d}", f"milestone {i % 17}", 1000 + i * 3.5,
                   dt.datetime(2026, 1 + i % 12, 1 + i % 28), ("paid", "open", "on hold")[i % 3]])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def big_docx(paragraphs: int) -> bytes:
    import docx

    d = docx.Document()
    for i in range(paragraphs):
        if i % 20 == 0:
            d.add_heading(f"Clause {i // 20 + 1}", level=1)
        d.add_paragraph(f"Paragraph {i}: the supplier shall deliver pump unit {i} to the "
                        "site within the agreed window, tested at 4.2 bar.")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def make_folder(folder: Path) -> dict[str, dict[str, float]]:
    """The files, and per file its size in units (pages, rows, slides, paragraphs)."""
    made: dict[str, tuple[bytes | str, str, float]] = {
        "agreement.docx": (files.docx_bytes(), "files", 1),
        "contract-300p.docx": (big_docx(300), "paragraphs", 300),
        "schedule.xlsx": (files.xlsx_bytes(), "files", 1),
        "ledger-5000.xlsx": (big_xlsx(5000), "rows", 5000),
        "payments-5000.csv": ("Invoice,Milestone,Amount,Status\n" + "".join(
            f"{i:05d},milestone {i % 17},{1000 + i},open\n" for i in range(5000)),
            "rows", 5000),
        "status.pptx": (files.pptx_bytes(), "slides", 2),
        "thread.eml": (files.eml_bytes(attachments={"notes.txt": b"Test passed."}),
                       "files", 1),
        "card.png": (files.image_bytes(["Measurement card 17", "Pressure: 4.2 bar"]),
                     "pages", 1),
        "scan-3p.pdf": (files.scanned_pdf_bytes([
            ["Minutes of the site meeting", "Invoice 0417 stays on hold"],
            ["Attendees: Anna Berg, Tom Reyes", "Next meeting 9 March"],
            ["Action: book the pressure test", "Owner: Maria Jensen"]]), "pages", 3),
    }
    files.write_files(folder, {name: body for name, (body, _, _) in made.items()})
    return {name: {"unit": unit, "units": units} for name, (_, unit, units) in made.items()}


def time_ours(folder: Path, sizes: dict[str, dict[str, float]]) -> dict[str, dict]:
    results = {}
    for name, size in sizes.items():
        data = (folder / name).read_bytes()
        parse_document(folder / name, data)  # warm: imports, the OCR engine
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            parsed = parse_document(folder / name, data)
            runs.append(time.perf_counter() - started)
        best = min(runs)
        results[name] = {"seconds": round(best, 4), "chars": len(parsed.text),
                         f"{size['unit']}_per_s": round(size["units"] / best, 1),
                         "text": parsed.text}
    return results


def time_ingest(folder: Path, sizes: dict[str, dict[str, float]]) -> dict[str, dict]:
    """The whole `ingest` (read, clean, chunk, embed, Chroma writes, commit) of each file
    alone in a fresh index, in process."""
    from service.embed.backends import make_embedder
    from service.index.config import load_index_config
    from service.ingest.pipeline import ingest
    from tests.conftest import make_settings, write_index

    results = {}
    indexes = folder / "indexes"
    settings = make_settings(indexes)
    embedder = make_embedder("minilm", settings)
    for n, (name, size) in enumerate(sizes.items()):
        write_index(indexes, f"fmt{n}", {name: (folder / name).read_bytes()})
        config = load_index_config(settings, f"fmt{n}")
        started = time.perf_counter()
        report = ingest(config, settings, show_progress=False, embedder=embedder)
        seconds = time.perf_counter() - started
        results[name] = {"seconds": round(seconds, 3), "chunks": report.chunks_embedded,
                         f"{size['unit']}_per_s": round(size["units"] / seconds, 1)}
    return results


def probe(text: str, checks: dict[str, bool]) -> dict[str, bool]:
    squashed = text.replace(",", "").replace("**", "")
    return {needle: (needle in text or needle.replace(",", "") in squashed) == wanted
            for needle, wanted in checks.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--markitdown", help="python of a venv with markitdown installed")
    parser.add_argument("--out", type=Path, help="also write the JSON object here")
    parser.add_argument("--ingest", action="store_true",
                        help="also time the whole ingest (with embedding) of each file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sizes = make_folder(folder)
        ours = time_ours(folder, sizes)
        ingested = time_ingest(folder, sizes) if args.ingest else {}
        theirs: dict[str, dict] = {}
        if args.markitdown:
            names = [n for n in sizes if not n.endswith((".png", ".pdf", ".eml"))]
            out = subprocess.run([args.markitdown, "-c", _MARKITDOWN,
                                  *[str(folder / n) for n in names]],
                                 capture_output=True, text=True, check=True).stdout
            theirs = {Path(k).name: v for k, v in json.loads(out).items()}
    report: dict[str, object] = {"ours": {
        n: {k: v for k, v in r.items() if k != "text"} for n, r in ours.items()}}
    if ingested:
        report["ingest"] = ingested
    report["fidelity_ours"] = {n: probe(ours[n]["text"], c) for n, c in PROBES.items()}
    if theirs:
        report["markitdown"] = {n: {"seconds": round(r["seconds"], 4)}
                                for n, r in theirs.items()}
        report["fidelity_markitdown"] = {n: probe(theirs[n]["text"], c)
                                         for n, c in PROBES.items() if n in theirs}
    emit(report, args.out, indent=1)


if __name__ == "__main__":
    main()
