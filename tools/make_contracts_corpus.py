"""Generate the `contracts` index's document folder (indexes/contracts/docs/), deterministically.

    python -m tools.make_contracts_corpus            # (re)write every file
    python -m tools.make_contracts_corpus --out DIR  # somewhere else (e.g. to compare runs)

A fictional case file: Stadtwerke Kelbach GmbH (a municipal utility, the Employer) has
Brenner & Vogt Anlagenbau GmbH (the Contractor) retrofit its Nordhafen district heating
plant with a 4.2 MW river-water heat pump, contract SWK-2025-014. The folder mixes the
formats of issue 28 (DOCX with a tracked change, text PDF, .eml with a quoted reply and a
PDF attachment, CSV, XLSX with a cached formula value and a date column, PPTX with
speaker notes, an image-only PDF scan and a PNG photo for OCR), and spreads the facts
so that some live in one file only and some need two (eval/datasets/contracts.jsonl,
eval/datasets/README.md).

Runs twice to byte-identical files: every OOXML zip is rewritten with fixed entry times
and fixed core-property dates, PDFs get a fixed creation date, e-mails a fixed MIME
boundary. Byte identity holds for the same library versions (zlib, Pillow, FreeType).

Packages (tools/requirements-corpus.txt), only for this script, not for the service:
python-docx, python-pptx, openpyxl, fpdf2, Pillow. Fonts: DejaVu (Debian fonts-dejavu-core).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import zipfile
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import default as email_policy
from email.utils import format_datetime
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import ImageFont

DOCS = Path(__file__).resolve().parent.parent / "indexes" / "contracts" / "docs"
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
#: Every timestamp written into a file (zip entries, core properties, PDF dates).
FIXED = datetime(2025, 12, 18, 9, 0, 0, tzinfo=UTC)
ZIP_TIME = (2025, 12, 18, 9, 0, 0)
_CEST, _CET = timezone(timedelta(hours=2)), timezone(timedelta(hours=1))

# --------------------------------------------------------------------------------------
# The contract: one text, rendered as the conformed DOCX (with a tracked change and the
# payment table) and as the signed original (text PDF).
# --------------------------------------------------------------------------------------

CONTRACT_TITLE = "CONSTRUCTION CONTRACT No. SWK-2025-014"
CONTRACT_SUBTITLE = ("Retrofit of the Nordhafen District Heating Plant with a "
                     "Large-Scale River-Water Heat Pump")
#: (marker, text): "h" heading, "p" paragraph, "table" the payment table,
#: "manager" the key-personnel sentence (tracked change in the DOCX).
Block = tuple[str, str]
CONTRACT: list[Block] = [
    ("p", "This contract is made on 14 March 2025 between Stadtwerke Kelbach GmbH, "
          "Hafenstrasse 12, 61234 Kelbach, represented by its managing director "
          "Dr. Helga Sommer (the Employer), and Brenner & Vogt Anlagenbau GmbH, "
          "Industriering 40, 63000 Lindau am Main, represented by its managing director "
          "Markus Brenner (the Contractor)."),
    ("h", "1. Subject of the contract"),
    ("p", "1.1 The Contractor shall design, supply, install and commission a river-water "
          "heat pump plant with a total heat output of 4.2 MW at the Nordhafen district "
          "heating plant."),
    ("p", "1.2 The plant consists of two heat pump units of 2.1 MW each, using ammonia "
          "(R717) as refrigerant, together with the river water intake, the intermediate "
          "brine circuit and the connection to the existing district heating network."),
    ("p", "1.3 The Employer's engineer for this contract is Ingenieurbüro Halm, Kelbach, "
          "represented by Stefan Halm."),
    ("h", "2. Contract price and payment"),
    ("p", "2.1 The contract price is a lump sum of EUR 3,860,000, excluding VAT."),
    ("p", "2.2 The contract price is fixed for the duration of the works and is not "
          "subject to price escalation."),
    ("p", "2.3 The contract price shall be paid in five milestone payments in accordance "
          "with the following payment table."),
    ("table", ""),
    ("p", "2.4 Invoices are payable within 30 days of receipt, provided that the "
          "Employer's engineer has certified the milestone."),
    ("p", "2.5 The advance payment is secured by an advance payment guarantee from a "
          "European bank."),
    ("h", "3. Time for completion"),
    ("p", "3.1 The works shall start on 7 April 2025."),
    ("p", "3.2 Mechanical completion shall be achieved by 31 October 2025."),
    ("p", "3.3 Final acceptance shall take place no later than 30 January 2026."),
    ("p", "3.4 If the Contractor fails to meet the date for final acceptance, it shall pay "
          "liquidated damages of 0.2 % of the contract price for each working day of "
          "delay, capped at 5 % of the contract price."),
    ("h", "4. Permits"),
    ("p", "4.1 The Employer shall obtain the water-law permit for the river water intake "
          "and discharge."),
    ("p", "4.2 The Contractor shall obtain all other permits required for the execution "
          "of the works."),
    ("h", "5. Key personnel"),
    ("p", "5.1 The Contractor shall keep a site manager and a pipe-fitting crew of at "
          "least eight fitters on site from 1 June 2025 until mechanical completion."),
    ("manager", ""),
    ("p", "5.3 The Contractor may replace key personnel only with the Employer's prior "
          "written consent."),
    ("h", "6. Performance"),
    ("p", "6.1 The heat pump plant shall reach a seasonal coefficient of performance of "
          "at least 3.1 at a supply temperature of 80 °C."),
    ("p", "6.2 The Contractor shall provide a performance bond of 10 % of the contract "
          "price, valid until the end of the defects liability period."),
    ("h", "7. Defects liability"),
    ("p", "7.1 The defects liability period is 24 months from final acceptance."),
    ("p", "7.2 For the compressors of the heat pump units the defects liability period "
          "is 60 months."),
    ("h", "8. Law and disputes"),
    ("p", "8.1 This contract is governed by German law. The courts of Kelbach have "
          "exclusive jurisdiction."),
    ("p", "8.2 Before going to court, the parties shall refer any dispute to mediation."),
    ("h", "Signatures"),
    ("p", "Kelbach, 14 March 2025. For the Employer: Dr. Helga Sommer. "
          "For the Contractor: Markus Brenner."),
]
PAYMENT_TABLE = [
    ("Milestone", "Event", "Share", "Amount (EUR)"),
    ("M1", "Signature of the contract (advance payment)", "10 %", "386,000"),
    ("M2", "Delivery of both heat pump units to site", "30 %", "1,158,000"),
    ("M3", "Mechanical completion", "30 %", "1,158,000"),
    ("M4", "Commissioning and 72-hour trial run", "20 %", "772,000"),
    ("M5", "Final acceptance", "10 %", "386,000"),
]
MANAGER_PREFIX = "5.2 The Contractor's site manager is "
MANAGER_SIGNED = "Jonas Petri"  # the signed original; deleted in the conformed DOCX
MANAGER_NOW = "Miriam Kolb, who replaced Jonas Petri with effect from 1 July 2025"

AMENDMENT_TITLE = "AMENDMENT No. 1 TO CONSTRUCTION CONTRACT No. SWK-2025-014"
AMENDMENT: list[Block] = [
    ("p", "This amendment is made on 2 October 2025 between Stadtwerke Kelbach GmbH (the "
          "Employer) and Brenner & Vogt Anlagenbau GmbH (the Contractor)."),
    ("h", "1. Reason for this amendment"),
    ("p", "The water-law permit issued by the Lower Water Authority of the District of "
          "Kelbach on 18 August 2025 requires, in its condition 7, a fine screen with fish "
          "protection at the river water intake."),
    ("p", "This fine screen was not part of the Contractor's scope under the contract and "
          "was ordered as change order CO-03."),
    ("h", "2. Contract price"),
    ("p", "Clause 2.1 of the contract is replaced as follows: The contract price is a lump "
          "sum of EUR 4,112,500, excluding VAT."),
    ("p", "The increase of EUR 252,500 covers the design, supply and installation of the "
          "fine screen and fish-protection system."),
    ("p", "The additional amount is added to milestone M4, which therefore becomes "
          "EUR 1,024,500."),
    ("h", "3. Time for completion"),
    ("p", "The date for final acceptance in clause 3.3 is moved from 30 January 2026 to "
          "27 March 2026."),
    ("p", "The parties could not agree on an extension of the date for mechanical "
          "completion; this question remains open."),
    ("h", "4. Other terms"),
    ("p", "All other terms of the contract remain unchanged."),
    ("p", "Kelbach, 2 October 2025. For the Employer: Dr. Helga Sommer. "
          "For the Contractor: Markus Brenner."),
]

# --------------------------------------------------------------------------------------
# E-mails
# --------------------------------------------------------------------------------------

VOGT = "Lukas Vogt <lukas.vogt@brenner-vogt.example>"
ALBERS = "Dr. Katrin Albers <katrin.albers@stadtwerke-kelbach.example>"
HALM = "Stefan Halm <s.halm@ib-halm.example>"
MEIER = "Jana Meier <jana.meier@stadtwerke-kelbach.example>"
DELAY_SUBJECT = "Nordhafen heat pump - notice of delay to mechanical completion"

def _body(*paragraphs: str) -> str:
    """A plain-text mail body: one line per paragraph, as mail clients send it today."""
    return "\n\n".join(paragraphs) + "\n"


EMAIL_01_BODY = _body(
    "Dear Dr. Albers,",
    "under clause 3 of contract SWK-2025-014 we give notice that mechanical completion of "
    "the Nordhafen heat pump plant will be delayed by about six weeks.",
    "The delay was caused by the late water-law permit. The permit was planned for June "
    "2025 but was issued by the Lower Water Authority only on 18 August 2025, and work on "
    "the river water intake could not start before then.",
    "Our staffing on site is in line with the contract. We therefore request an extension "
    "of time for mechanical completion to 12 December 2025.",
    "Kind regards\nLukas Vogt\nProject Manager, Brenner & Vogt Anlagenbau GmbH",
)

EMAIL_02_BODY = _body(
    "Dear Mr Vogt,",
    "we acknowledge receipt of your notice but do not accept the requested extension of "
    "time. The river water intake is only one part of the works, and the compressor hall "
    "and the brine circuit were not affected by the permit.",
    "We will discuss the delay at the site meeting on 11 September 2025. Please bring a "
    "revised construction programme to that meeting.",
    "Best regards\nKatrin Albers\nProject Director, Stadtwerke Kelbach GmbH",
    "On 3 Sep 2025, at 16:42, Lukas Vogt wrote:",
).rstrip("\n") + "\n" + "".join(
    f"> {line}\n" if line else ">\n" for line in EMAIL_01_BODY.splitlines())

EMAIL_03_BODY = _body(
    "Dear Mr Vogt,",
    "your invoice INV-2025-0417 of 28 November 2025 for milestone M3 (mechanical "
    "completion) has been put on hold.",
    "The Employer's engineer has not certified mechanical completion because the signed "
    "pressure test protocol for the brine circuit is missing. Payment will be released "
    "within 14 days after the engineer receives the signed pressure test protocol.",
    "Kind regards\nJana Meier\nAccounts Payable, Stadtwerke Kelbach GmbH",
)

EMAIL_04_BODY = _body(
    "Dear Katrin,",
    "attached is our noise measurement report from the test run of heat pump unit 1 on "
    "17 October 2025. The result is below the night-time limit of the permit, so no further "
    "noise protection is needed for unit 1. We will repeat the measurement when both units "
    "run together.",
    "Best regards\nStefan Halm\nIngenieurbüro Halm",
)

NOISE_REPORT_TITLE = "NOISE MEASUREMENT REPORT NM-2025-17"
NOISE_REPORT = [
    "Project: Nordhafen heat pump retrofit, contract SWK-2025-014.",
    "Date of measurement: 17 October 2025, 22:30 to 23:30.",
    "Operating state: heat pump unit 1 ran at 95 % load; unit 2 was not yet in operation.",
    "Measurement point MP2 was at the nearest residential building, Hafenstrasse 31.",
    "The rating level measured at night was 37 dB(A).",
    "The night-time limit set by the permit is 40 dB(A).",
    "Measured by Anna Lenz, Ingenieurbüro Halm.",
]

# --------------------------------------------------------------------------------------
# Payment schedule (CSV) and change orders (XLSX)
# --------------------------------------------------------------------------------------

PAYMENTS = [
    ("Milestone", "Description", "Invoice", "Invoice date", "Amount EUR", "Due date",
     "Status", "Paid on"),
    ("M1", "Advance payment on signature", "INV-2025-0101", "2025-03-17", "386000.00",
     "2025-04-16", "paid", "2025-04-10"),
    ("M2", "Delivery of both heat pump units to site", "INV-2025-0233", "2025-07-04",
     "1158000.00", "2025-08-03", "paid", "2025-07-29"),
    ("M3", "Mechanical completion", "INV-2025-0417", "2025-11-28", "1158000.00",
     "2025-12-28", "on hold", ""),
    ("M4", "Commissioning and 72-hour trial run (incl. fine screen, Amendment No. 1)", "",
     "", "1024500.00", "", "not invoiced", ""),
    ("M5", "Final acceptance", "", "", "386000.00", "", "not invoiced", ""),
]

CHANGE_ORDERS = [
    ("CO-01", date(2025, 5, 12), "Relocation of the electrical sub-distribution board",
     "Employer", 18400, "approved"),
    ("CO-02", date(2025, 6, 30), "Additional vibration dampers for the compressor skids",
     "Contractor", 9750, "approved"),
    ("CO-03", date(2025, 8, 25), "Fine screen and fish protection at the river water intake",
     "Employer", 252500, "approved"),
    ("CO-04", date(2025, 10, 6), "Remote monitoring upgrade of the plant control system",
     "Contractor", 31200, "rejected"),
    ("CO-05", date(2025, 11, 17), "Acoustic hood for the roof-mounted recooler",
     "Employer", 14900, "pending"),
]
APPROVALS = [
    ("CO-01", "Katrin Albers", date(2025, 5, 20), "within the project budget"),
    ("CO-02", "Stefan Halm", date(2025, 7, 8), "recommended by the engineer"),
    ("CO-03", "Supervisory board of Stadtwerke Kelbach", date(2025, 9, 30),
     "incorporated in Amendment No. 1"),
    ("CO-04", "Katrin Albers", date(2025, 10, 15), "not needed for operation"),
    ("CO-05", "", None, "decision expected in January 2026"),
]
TOTAL_APPROVED = sum(c[4] for c in CHANGE_ORDERS if c[5] == "approved")  # 280,650

# --------------------------------------------------------------------------------------
# Progress meeting slides (PPTX): (title, bullets, speaker notes)
# --------------------------------------------------------------------------------------

SLIDES: list[tuple[str, list[str], str]] = [
    ("Progress since meeting No. 6", [
        "Both heat pump units are set on their foundations and connected to the brine "
        "circuit.",
        "The fine screen at the river water intake was installed in week 45.",
        "Mechanical completion is now forecast for 26 November 2025.",
    ], "The forecast assumes that the second pipe-fitting crew stays on site until the end "
       "of November."),
    ("Test results", [
        "Heat pump unit 1 reached a coefficient of performance of 3.4 in the factory "
        "acceptance test.",
        "The noise measurement of 17 October 2025 was below the night-time limit.",
    ], "The compressor supplier Kältewerk Süd will replace the faulty oil pump of unit 2 "
       "free of charge before commissioning."),
    ("Next steps", [
        "Pressure test of the brine circuit in week 48.",
        "Commissioning and 72-hour trial run planned for January 2026.",
    ], "Next progress meeting: 11 December 2025."),
]

# --------------------------------------------------------------------------------------
# The scan (image-only PDF) and the photo (PNG): OCR only
# --------------------------------------------------------------------------------------

MINUTES_LINES: list[tuple[str, str]] = [  # (style, text): "t" title, "b" bold, "" body
    ("b", "STADTWERKE KELBACH GMBH"),
    ("", "Nordhafen heat pump retrofit, contract SWK-2025-014"),
    ("", ""),
    ("t", "SITE MEETING MINUTES No. 12"),
    ("", "Date: 11 September 2025, site office Nordhafen"),
    ("", "Present: Dr. Katrin Albers (Stadtwerke Kelbach), Stefan Halm"),
    ("", "(Ingenieurbüro Halm), Lukas Vogt and Miriam Kolb (Brenner & Vogt)"),
    ("", ""),
    ("b", "1. Schedule"),
    ("", "The Employer states that the delay to mechanical completion is"),
    ("", "caused by insufficient staffing of the Contractor: only 4 pipe"),
    ("", "fitters were on site in August instead of the 8 required by the"),
    ("", "contract. The Contractor disagrees and refers to its notice of"),
    ("", "3 September 2025 (late water-law permit)."),
    ("", ""),
    ("b", "2. Revised programme"),
    ("", "The Contractor presented a revised programme. It will add a second"),
    ("", "crew of pipe fitters from 22 September 2025."),
    ("", ""),
    ("b", "3. Safety"),
    ("", "One near miss was reported: on 9 September 2025 a crane load swung"),
    ("", "close to the scaffolding. A toolbox talk was held."),
    ("", ""),
    ("b", "4. Next meeting"),
    ("", "The next site meeting will be held on 25 September 2025."),
]
CARD_LINES: list[tuple[str, str]] = [  # (label, value)
    ("HEAT METER READING CARD", ""),
    ("Meter:", "WMZ-03, plant outlet"),
    ("Date:", "16 December 2025, 10:30"),
    ("Supply temperature:", "78.4 °C"),
    ("Return temperature:", "47.9 °C"),
    ("Flow rate:", "60.9 m3/h"),
    ("Heat output:", "2.16 MW"),
    ("Read by:", "P. Norden"),
]


# --------------------------------------------------------------------------------------
# Helpers: fixed zips and core properties
# --------------------------------------------------------------------------------------

_CORE_DATE = re.compile(rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)")


def normalise_ooxml(data: bytes) -> bytes:
    """The same package with fixed entry times and fixed created/modified dates."""
    stamp = FIXED.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for entry in src.infolist():
            body = src.read(entry)
            if entry.filename == "docProps/core.xml":
                body = _CORE_DATE.sub(lambda m: m.group(1) + stamp + m.group(3), body)
            info = zipfile.ZipInfo(entry.filename, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, body)
    return out.getvalue()


def _core_properties(props: object, title: str, author: str) -> None:
    """python-docx and python-pptx share this core-properties API."""
    naive = FIXED.replace(tzinfo=None)
    props.title = title  # type: ignore[attr-defined]
    props.author = author  # type: ignore[attr-defined]
    props.last_modified_by = author  # type: ignore[attr-defined]
    props.created = naive  # type: ignore[attr-defined]
    props.modified = naive  # type: ignore[attr-defined]
    props.revision = 1  # type: ignore[attr-defined]


def font(name: str, size: int) -> ImageFont.FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.truetype(str(FONT_DIR / name), size)


# --------------------------------------------------------------------------------------
# DOCX
# --------------------------------------------------------------------------------------

def _tracked_change(paragraph: object, deleted: str, inserted: str) -> None:
    """Append <w:del> and <w:ins> runs (a reviewer's change, not yet accepted)."""
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    when = FIXED.strftime("%Y-%m-%dT%H:%M:%SZ")
    who = 'w:author="Legal Department, Stadtwerke Kelbach" w:date="' + when + '"'
    p = paragraph._p  # type: ignore[attr-defined]
    p.append(parse_xml(f'<w:del {nsdecls("w")} w:id="101" {who}><w:r><w:delText>'
                       f'{deleted}</w:delText></w:r></w:del>'))
    p.append(parse_xml(f'<w:ins {nsdecls("w")} w:id="102" {who}><w:r><w:t>'
                       f'{inserted}</w:t></w:r></w:ins>'))


def make_docx(blocks: list[Block], title: str, subtitle: str | None, header: str,
              author: str) -> bytes:
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    _core_properties(doc.core_properties, title, author)
    doc.styles["Normal"].font.name = "Calibri"
    doc.styles["Normal"].font.size = Pt(11)
    section = doc.sections[0]
    section.header.paragraphs[0].text = header
    section.footer.paragraphs[0].text = "Confidential - Stadtwerke Kelbach GmbH"
    doc.add_heading(title, level=0)
    if subtitle:
        doc.add_paragraph(subtitle, style="Subtitle")
    for kind, text in blocks:
        if kind == "h":
            doc.add_heading(text, level=1)
        elif kind == "p":
            doc.add_paragraph(text)
        elif kind == "table":
            table = doc.add_table(rows=0, cols=len(PAYMENT_TABLE[0]), style="Table Grid")
            for i, row in enumerate(PAYMENT_TABLE):
                cells = table.add_row().cells
                for cell, value in zip(cells, row, strict=True):
                    cell.text = value
                    if i == 0:
                        cell.paragraphs[0].runs[0].bold = True
        elif kind == "manager":
            paragraph = doc.add_paragraph(MANAGER_PREFIX)
            _tracked_change(paragraph, MANAGER_SIGNED, MANAGER_NOW)
            paragraph.add_run(".")
    buf = io.BytesIO()
    doc.save(buf)
    return normalise_ooxml(buf.getvalue())


# --------------------------------------------------------------------------------------
# Text PDFs (fpdf2, core fonts: Latin-1 text only)
# --------------------------------------------------------------------------------------

def _pdf(title: str, author: str) -> object:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED)
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_producer("make_contracts_corpus")
    pdf.set_creator("make_contracts_corpus")
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_margins(22, 20, 22)
    pdf.add_page()
    return pdf


def _pdf_paragraph(pdf: object, text: str, size: float = 10.5, style: str = "",
                   gap: float = 2.5) -> None:
    from fpdf.enums import XPos, YPos

    text.encode("latin-1")  # core fonts: fail here rather than write a wrong glyph
    pdf.set_font("Helvetica", style, size)  # type: ignore[attr-defined]
    pdf.multi_cell(0, size * 0.5, text, new_x=XPos.LMARGIN,  # type: ignore[attr-defined]
                   new_y=YPos.NEXT)
    pdf.ln(gap)  # type: ignore[attr-defined]


def make_contract_pdf() -> bytes:
    from fpdf.enums import XPos, YPos

    pdf = _pdf(CONTRACT_TITLE, "Stadtwerke Kelbach GmbH")
    _pdf_paragraph(pdf, CONTRACT_TITLE, 15, "B")
    _pdf_paragraph(pdf, CONTRACT_SUBTITLE, 12, "B", gap=5)
    widths = (22, 88, 20, 36)
    for kind, text in CONTRACT:
        if kind == "h":
            _pdf_paragraph(pdf, text, 12, "B")
        elif kind == "p":
            _pdf_paragraph(pdf, text)
        elif kind == "manager":
            _pdf_paragraph(pdf, MANAGER_PREFIX + MANAGER_SIGNED + ".")
        elif kind == "table":
            for i, row in enumerate(PAYMENT_TABLE):
                pdf.set_font("Helvetica", "B" if i == 0 else "", 10)  # type: ignore[attr-defined]
                for width, value in zip(widths, row, strict=True):
                    pdf.cell(width, 6.5, value, border=1)  # type: ignore[attr-defined]
                pdf.ln(6.5)  # type: ignore[attr-defined]
            pdf.ln(3)  # type: ignore[attr-defined]
    pdf.set_font("Helvetica", "I", 9)  # type: ignore[attr-defined]
    pdf.cell(0, 8, "Signed original. Two counterparts, one for each party.",  # type: ignore[attr-defined]
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())  # type: ignore[attr-defined]


def make_noise_report_pdf() -> bytes:
    pdf = _pdf(NOISE_REPORT_TITLE, "Ingenieurbüro Halm")
    _pdf_paragraph(pdf, "Ingenieurbüro Halm, Kelbach", 10, "I")
    _pdf_paragraph(pdf, NOISE_REPORT_TITLE, 14, "B", gap=5)
    for line in NOISE_REPORT:
        _pdf_paragraph(pdf, line)
    return bytes(pdf.output())  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------
# E-mail
# --------------------------------------------------------------------------------------

def make_eml(number: int, sender: str, to: str, cc: str | None, when: datetime,
             subject: str, body: str, reply_to: int | None = None,
             attachment: tuple[str, bytes] | None = None) -> bytes:
    msg = EmailMessage(policy=email_policy)
    msg["From"] = sender
    msg["To"] = to
    if cc:
        msg["Cc"] = cc
    msg["Date"] = format_datetime(when)
    msg["Subject"] = subject
    msg["Message-ID"] = f"<nordhafen-{number:02d}@mail.example>"
    if reply_to is not None:
        msg["In-Reply-To"] = f"<nordhafen-{reply_to:02d}@mail.example>"
        msg["References"] = f"<nordhafen-{reply_to:02d}@mail.example>"
    msg.set_content(body)
    if attachment:
        name, data = attachment
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=name)
        msg.set_boundary(f"==nordhafen-{number:02d}-boundary==")
    return msg.as_bytes()


# --------------------------------------------------------------------------------------
# CSV and XLSX
# --------------------------------------------------------------------------------------

def make_csv() -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(PAYMENTS)
    return out.getvalue().encode("utf-8")


def _cache_formula_value(data: bytes, sheet: str, cell: str, value: int) -> bytes:
    """openpyxl writes formulas without a cached result; Excel would store one. Readers
    that take cached values (openpyxl data_only=True) need it, so write it in."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for entry in src.infolist():
            body = src.read(entry)
            if entry.filename == sheet:
                pattern = re.compile(rb'(<c r="' + cell.encode() + rb'"[^>]*>)(<f>[^<]*</f>)'
                                     rb"(<v\s*/>|<v>[^<]*</v>)?")
                body, n = pattern.subn(lambda m: m.group(1) + m.group(2)
                                       + b"<v>" + str(value).encode() + b"</v>", body)
                if n != 1:
                    raise RuntimeError(f"formula cell {cell} not found in {sheet}")
            dst.writestr(entry, body)
    return out.getvalue()


def make_xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    wb.properties.creator = "Stadtwerke Kelbach GmbH"
    wb.properties.lastModifiedBy = "Stadtwerke Kelbach GmbH"
    wb.properties.title = "Change orders, contract SWK-2025-014"
    wb.properties.created = FIXED.replace(tzinfo=None)
    wb.properties.modified = FIXED.replace(tzinfo=None)
    ws = wb.active
    ws.title = "Change orders"
    ws.append(["CO No.", "Date raised", "Description", "Raised by", "Amount EUR", "Status"])
    for row in CHANGE_ORDERS:
        ws.append(list(row))
    ws.append([])
    total_row = len(CHANGE_ORDERS) + 3
    last = len(CHANGE_ORDERS) + 1
    ws.cell(total_row, 1, "Total approved")
    ws.cell(total_row, 5, f'=SUMIF(F2:F{last},"approved",E2:E{last})')
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.cell(total_row, 1).font = Font(bold=True)
    for r in range(2, last + 1):
        ws.cell(r, 2).number_format = "yyyy-mm-dd"
        ws.cell(r, 5).number_format = "#,##0"
    ws.cell(total_row, 5).number_format = "#,##0"
    for col, width in zip("ABCDEF", (9, 12, 56, 12, 13, 10), strict=True):
        ws.column_dimensions[col].width = width

    ap = wb.create_sheet("Approvals")
    ap.append(["CO No.", "Decided by", "Decision date", "Remark"])
    for co, who, when, remark in APPROVALS:
        ap.append([co, who or None, when, remark])
    for cell in ap[1]:
        cell.font = Font(bold=True)
    for r in range(2, len(APPROVALS) + 2):
        ap.cell(r, 3).number_format = "yyyy-mm-dd"
    for col, width in zip("ABCD", (9, 40, 14, 36), strict=True):
        ap.column_dimensions[col].width = width

    buf = io.BytesIO()
    wb.save(buf)
    data = _cache_formula_value(buf.getvalue(), "xl/worksheets/sheet1.xml",
                                f"E{total_row}", TOTAL_APPROVED)
    return normalise_ooxml(data)


# --------------------------------------------------------------------------------------
# PPTX
# --------------------------------------------------------------------------------------

def make_pptx() -> bytes:
    from pptx import Presentation

    prs = Presentation()
    _core_properties(prs.core_properties, "Progress meeting No. 7", "Brenner & Vogt")
    first = prs.slides.add_slide(prs.slide_layouts[0])
    first.shapes.title.text = "Nordhafen heat pump retrofit"
    first.placeholders[1].text = "Progress meeting No. 7, 13 November 2025"
    first.notes_slide.notes_text_frame.text = (
        "Welcome. Attendees: Stadtwerke Kelbach, Ingenieurbüro Halm, Brenner & Vogt.")
    for title, bullets, notes in SLIDES:
        slide = prs.slides.add_slide(prs.slide_layouts[1])
        slide.shapes.title.text = title
        frame = slide.placeholders[1].text_frame
        frame.text = bullets[0]
        for bullet in bullets[1:]:
            frame.add_paragraph().text = bullet
        slide.notes_slide.notes_text_frame.text = notes
    buf = io.BytesIO()
    prs.save(buf)
    return normalise_ooxml(buf.getvalue())


# --------------------------------------------------------------------------------------
# Images: the scanned minutes and the photographed card
# --------------------------------------------------------------------------------------

def _signature(draw: object, x: int, y: int, rng: random.Random) -> None:
    """A pen scrawl: a few connected loops."""
    points = []
    for i in range(26):
        points.append((x + i * 9 + rng.randint(-3, 3),
                       y + int(18 * ((-1) ** i)) + rng.randint(-6, 6)))
    draw.line(points, fill=30, width=3, joint="curve")  # type: ignore[attr-defined]


def make_minutes_scan() -> bytes:
    """One A4 page at 200 dpi, as a scanner makes it: an image, no text layer."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = random.Random(12)
    width, height = 1654, 2339
    page = Image.new("L", (width, height), 246)
    draw = ImageDraw.Draw(page)
    fonts = {"t": font("DejaVuSans-Bold.ttf", 46), "b": font("DejaVuSans-Bold.ttf", 36),
             "": font("DejaVuSans.ttf", 36)}
    y, blanks = 170, []
    for style, text in MINUTES_LINES:
        if text:
            draw.text((150, y), text, fill=20, font=fonts[style])
        else:
            blanks.append(y + 30)
        y += 64 if style != "t" else 84
    y += 60
    draw.text((150, y), "Signed:", fill=20, font=fonts[""])
    for x, name in ((330, "K. Albers"), (930, "L. Vogt")):
        _signature(draw, x, y + 30, rng)
        draw.text((x, y + 90), name, fill=20, font=fonts[""])
    # Scanner specks and a faint fold line (across a blank line, as the page was folded).
    for _ in range(900):
        page.putpixel((rng.randrange(width), rng.randrange(height)), rng.randint(150, 220))
    fold = min(blanks, key=lambda b: abs(b - height // 2))
    draw.line([(0, fold), (width, fold + 3)], fill=228, width=3)
    page = page.rotate(0.4, resample=Image.Resampling.BICUBIC, fillcolor=246)
    page = page.filter(ImageFilter.GaussianBlur(0.6))
    buf = io.BytesIO()
    page.save(buf, format="PDF", resolution=200.0, quality=70,
              title="Site meeting minutes No. 12 (scan)", author="Scanner",
              creationDate=FIXED.utctimetuple(), modDate=FIXED.utctimetuple())
    return buf.getvalue()


def make_card_photo() -> bytes:
    """A photo of a filled-in card on a desk: slight tilt, soft light, no text layer."""
    from PIL import Image, ImageDraw, ImageFilter

    width, height = 1500, 1000
    photo = Image.new("RGB", (width, height), (92, 74, 58))
    draw = ImageDraw.Draw(photo)
    for y in range(height):  # a desk lit from the top
        shade = int(30 * y / height)
        draw.line([(0, y), (width, y)], fill=(110 - shade, 88 - shade, 68 - shade))
    card = Image.new("RGB", (1240, 800), (250, 247, 236))
    cd = ImageDraw.Draw(card)
    cd.rectangle([8, 8, 1231, 791], outline=(60, 60, 60), width=4)
    label_font, value_font = font("DejaVuSans.ttf", 40), font("DejaVuSans-Bold.ttf", 42)
    title_font = font("DejaVuSans-Bold.ttf", 50)
    y = 50
    for label, value in CARD_LINES:
        if not value:
            cd.text((60, y), label, fill=(20, 20, 20), font=title_font)
            y += 110
            continue
        cd.text((60, y), label, fill=(40, 40, 40), font=label_font)
        cd.text((520, y), value, fill=(15, 30, 110), font=value_font)
        cd.line([(515, y + 52), (1180, y + 52)], fill=(170, 170, 170), width=2)
        y += 86
    card = card.rotate(1.2, resample=Image.Resampling.BICUBIC, expand=True,
                       fillcolor=(0, 0, 0))
    mask = Image.new("L", (1240, 800), 255).rotate(1.2, expand=True, fillcolor=0)
    photo.paste(card, (120, 80), mask)
    photo = photo.filter(ImageFilter.GaussianBlur(0.8))
    buf = io.BytesIO()
    photo.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


# --------------------------------------------------------------------------------------

def files() -> Iterable[tuple[str, Callable[[], bytes]]]:
    noise_pdf = make_noise_report_pdf
    yield "contract_SWK-2025-014_conformed.docx", lambda: make_docx(
        CONTRACT, CONTRACT_TITLE, CONTRACT_SUBTITLE,
        "Contract SWK-2025-014 - conformed copy (working file of the Legal Department)",
        "Legal Department, Stadtwerke Kelbach")
    yield "contract_SWK-2025-014_signed.pdf", make_contract_pdf
    yield "amendment_01_SWK-2025-014.docx", lambda: make_docx(
        AMENDMENT, AMENDMENT_TITLE, None, "Contract SWK-2025-014 - Amendment No. 1",
        "Legal Department, Stadtwerke Kelbach")
    yield "email_01_delay_notice.eml", lambda: make_eml(
        1, VOGT, ALBERS, HALM, datetime(2025, 9, 3, 16, 42, tzinfo=_CEST), DELAY_SUBJECT,
        EMAIL_01_BODY)
    yield "email_02_re_delay_notice.eml", lambda: make_eml(
        2, ALBERS, VOGT, HALM, datetime(2025, 9, 5, 9, 15, tzinfo=_CEST),
        "Re: " + DELAY_SUBJECT, EMAIL_02_BODY, reply_to=1)
    yield "email_03_invoice_on_hold.eml", lambda: make_eml(
        3, MEIER, VOGT, ALBERS, datetime(2025, 12, 2, 10, 5, tzinfo=_CET),
        "Invoice INV-2025-0417 (milestone M3) on hold", EMAIL_03_BODY)
    yield "email_04_noise_report.eml", lambda: make_eml(
        4, HALM, ALBERS, None, datetime(2025, 10, 21, 14, 30, tzinfo=_CEST),
        "Nordhafen - noise measurement report unit 1", EMAIL_04_BODY,
        attachment=("noise_measurement_2025-10-17.pdf", noise_pdf()))
    yield "payment_schedule.csv", make_csv
    yield "change_orders.xlsx", make_xlsx
    yield "progress_meeting_07.pptx", make_pptx
    yield "site_minutes_12_scan.pdf", make_minutes_scan
    yield "heat_meter_card_WMZ-03.png", make_card_photo


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=DOCS, help="target folder")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, make in files():
        data = make()
        (args.out / name).write_bytes(data)
        total += len(data)
        print(f"{len(data):>9,d}  {name}")
    print(f"{total:>9,d}  total")


if __name__ == "__main__":
    main()
