"""Real files of every format, made in the test: Word, PowerPoint, Excel, CSV, e-mail,
images with text and image-only PDFs, and hostile ones (bombs, encrypted, damaged)."""

from __future__ import annotations

import datetime as dt
import glob
import io
import struct
import zipfile
import zlib
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

_FONTS = sorted(glob.glob("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
                + glob.glob("/usr/share/fonts/**/*.ttf", recursive=True))


def docx_bytes(*, tracked: bool = True) -> bytes:
    import docx

    d = docx.Document()
    d.core_properties.title = "Amended supply agreement"
    d.sections[0].header.paragraphs[0].text = "CONFIDENTIAL - Halden Pumps"
    d.sections[0].footer.paragraphs[0].text = "Page footer of the agreement"
    d.add_heading("1. Price", level=1)
    p = d.add_paragraph("The contract price is ")
    if tracked:  # "EUR 1,200,000" deleted, "EUR 1,350,000" inserted, as Word tracks it
        p._p.append(_tracked_run("w:del", "w:delText", "EUR 1,200,000", 1))
        p._p.append(_tracked_run("w:ins", "w:t", "EUR 1,350,000", 2))
    p.add_run(" because the scope grew by two pumps.")
    d.add_heading("2. Milestones", level=1)
    table = d.add_table(rows=3, cols=3)
    for r, row in enumerate([("Milestone", "Date", "Share"),
                             ("Mechanical completion", "2026-05-01", "40 %"),
                             ("Handover", "2026-07-15", "60 %")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.add_paragraph("Either party may end this agreement with 90 days' notice.")
    out = io.BytesIO()
    d.save(out)
    return out.getvalue()


def _tracked_run(change: str, text_tag: str, text: str, number: int):  # type: ignore[no-untyped-def]
    """A run inside a tracked change (`w:ins` or `w:del`) by "Counsel"."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    element = OxmlElement(change)
    element.set(qn("w:id"), str(number))
    element.set(qn("w:author"), "Counsel")
    run = OxmlElement("w:r")
    body = OxmlElement(text_tag)
    body.text = text
    run.append(body)
    element.append(run)
    return element


def pptx_bytes() -> bytes:
    from pptx import Presentation

    deck = Presentation()
    for title, body, notes in (
            ("Project status", "Pumps delivered: 4 of 6", "Ask about the delay."),
            ("Risks", "Invoice 0417 is on hold until the pressure test passes",
             "The pressure test is booked for 2 March.")):
        slide = deck.slides.add_slide(deck.slide_layouts[1])
        slide.shapes.title.text = title
        slide.placeholders[1].text = body
        slide.notes_slide.notes_text_frame.text = notes
    out = io.BytesIO()
    deck.save(out)
    return out.getvalue()


def xlsx_bytes(*, cached_total: int | None = 515_200) -> bytes:
    """A payment schedule; C5 is a formula whose cached value Excel would have saved."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Payments"
    ws.append(["Invoice", "Milestone", "Amount", "Due", "Status"])
    ws.append(["0416", "design", 128_800, dt.datetime(2026, 1, 15), "paid"])
    ws.append(["0417", "mechanical completion", 257_600, dt.datetime(2026, 3, 2), "on hold"])
    ws.append(["0418", "handover", 128_800, dt.datetime(2026, 7, 15), "open"])
    ws.append(["Total", None, "=SUM(C2:C4)"])
    for row in range(2, 6):
        ws.cell(row, 3).number_format = '"€"#,##0'
    wb.create_sheet("Contacts").append(["Name", "Role"])
    wb["Contacts"].append(["Maria Jensen", "site inspector"])
    out = io.BytesIO()
    wb.save(out)
    if cached_total is None:
        return out.getvalue()
    return _rewrite_zip(out.getvalue(), "xl/worksheets/sheet1.xml", lambda xml: xml.replace(
        b"<f>SUM(C2:C4)</f><v></v>", b"<f>SUM(C2:C4)</f><v>%d</v>" % cached_total).replace(
        b"<f>SUM(C2:C4)</f></c>", b"<f>SUM(C2:C4)</f><v>%d</v></c>" % cached_total))


def _rewrite_zip(data: bytes, member: str, change) -> bytes:  # type: ignore[no-untyped-def]
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            body = source.read(info)
            target.writestr(info, change(body) if info.filename == member else body)
    return out.getvalue()


def csv_text() -> str:
    return ("Invoice,Milestone,Amount,Status\n"
            "0416,design,\"€128,800\",paid\n"
            "0417,mechanical completion,\"€257,600\",on hold\n"
            "0418,handover,\"€128,800\",open\n")


def eml_bytes(*, attachments: dict[str, bytes] | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = "Anna Berg <anna@halden.example>"
    message["To"] = "Tom Reyes <tom@buyer.example>"
    message["Cc"] = "legal@halden.example"
    message["Subject"] = "Invoice 0417 on hold"
    message["Date"] = format_datetime(dt.datetime(2026, 3, 2, 14, 5,
                                                  tzinfo=dt.UTC))
    message.set_content(
        "Hi Tom,\n\nWe put invoice 0417 on hold until the pressure test passes.\n"
        "The test is booked for next week.\n\nAnna\n\n"
        "On Mon, 1 Mar 2026 at 09:12, Tom Reyes <tom@buyer.example> wrote:\n"
        "> Why has invoice 0417 not been paid?\n> Please check the schedule.\n")
    for name, data in (attachments or {}).items():
        maintype, subtype = ("text", "plain") if name.endswith(".txt") else (
            "application", "octet-stream")
        if maintype == "text":
            message.add_attachment(data.decode(), subtype=subtype, filename=name)
        else:
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def nested_eml(depth: int) -> bytes:
    """A message attached to a message … `depth` times (written by hand: the standard
    library's generator itself recurses too deep for 500)."""
    inner = "From: a@x.example\nSubject: level 0\nContent-Type: text/plain\n\nDeepest.\n"
    for i in range(1, depth):
        inner = (f"From: a@x.example\nSubject: level {i}\nMIME-Version: 1.0\n"
                 f'Content-Type: multipart/mixed; boundary="b{i}"\n\n'
                 f"--b{i}\nContent-Type: text/plain\n\nLevel {i} words.\n"
                 f"--b{i}\nContent-Type: message/rfc822\n"
                 f'Content-Disposition: attachment; filename="level{i - 1}.eml"\n\n'
                 f"{inner}\n--b{i}--\n")
    return inner.encode()


def text_image(lines: list[str], size: tuple[int, int] = (1400, 400)):  # type: ignore[no-untyped-def]
    """A white image with black text, large enough for Tesseract."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    font = (ImageFont.truetype(_FONTS[0], 44) if _FONTS
            else ImageFont.load_default(size=44))
    for i, line in enumerate(lines):
        draw.text((40, 40 + 80 * i), line, fill=0, font=font)
    return image


def image_bytes(lines: list[str], fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    text_image(lines).save(out, fmt)
    return out.getvalue()


def scanned_pdf_bytes(pages: list[list[str]]) -> bytes:
    """An image-only PDF: each page a picture of its lines (Pillow's PDF writer)."""
    images = [text_image(lines, (1700, 2200)).convert("RGB") for lines in pages]
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=200, save_all=True, append_images=images[1:])
    return out.getvalue()


def merged_pdf(*parts: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for part in parts:
        for page in PdfReader(io.BytesIO(part)).pages:
            writer.add_page(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def encrypted_pdf(text_pdf: bytes) -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf)))
    writer.encrypt(user_password="secret", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_bomb_docx(unpacked: int = 40_000_000) -> bytes:
    """A .docx whose document part unpacks to `unpacked` bytes of zeros (~40 KB packed)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("word/document.xml", "w") as member:
            block = b"\0" * 1_000_000
            for _ in range(unpacked // len(block)):
                member.write(block)
    return out.getvalue()


def encrypted_office() -> bytes:
    """The shape of a password-protected .docx/.xlsx: an OLE compound file holding an
    EncryptedPackage stream (what Office writes; the cipher text does not matter here)."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504
    return header + "EncryptedPackage".encode("utf-16-le") + b"\0" * 2048


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG that declares width x height pixels (a decompression bomb)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 1024)) + chunk(b"IEND", b""))


def write_files(folder: Path, files: dict[str, bytes | str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        path = folder / name
        if isinstance(body, str):
            path.write_text(body, encoding="utf-8")
        else:
            path.write_bytes(body)
