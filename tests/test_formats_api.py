"""The new formats through the real surfaces: uploads of Word, Excel and e-mail files over
HTTP (hostile ones refused with their reason, never a 5xx), the documents listing with
what was not indexed and why, `citations[].location` in answers, and `rag ingest`'s
summary per type (text and --json)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from service.ingest.load import SUPPORTED_SUFFIXES
from tests import documents as files
from tests.conftest import ROOT, RunRag, Server, rag_env, wait_job, write_index


def test_the_pages_file_picker_accepts_every_supported_type() -> None:
    html = (ROOT / "service" / "api" / "web" / "index.html").read_text()
    accept = html.split('id="file-input" multiple accept="', 1)[1].split('"', 1)[0]
    assert set(accept.split(",")) == set(SUPPORTED_SUFFIXES)


@pytest.fixture(scope="module")
def deal_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    indexes_dir = tmp_path_factory.mktemp("deal-api") / "indexes"
    write_index(indexes_dir, "deal", {
        "notes.txt": "The kickoff meeting for the pump delivery was held in Bergen.",
        "call.mp4": b"fake video",
    })
    return indexes_dir


@pytest.fixture(scope="module")
def server(deal_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    result = subprocess.run([sys.executable, "-m", "service.cli.main", "ingest", "--index",
                             "deal", "--quiet"], env=rag_env(deal_dir), cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr  # an unsupported file is not an error
    env = rag_env(deal_dir, RAG_GENERATOR="extractive", RAG_INDEX="deal")
    srv = Server(env, tmp_path_factory.mktemp("logs") / "server.log").wait_ready()
    yield srv
    srv.stop()


def test_office_and_email_uploads_are_indexed_and_cited_with_their_location(
        server: Server) -> None:
    uploads = [("schedule.xlsx", files.xlsx_bytes()), ("agreement.docx", files.docx_bytes()),
               ("thread.eml", files.eml_bytes(attachments={
                   "report.txt": b"The pressure test passed on 9 March at 4.2 bar."}))]
    for name, data in uploads:
        response = httpx.post(f"{server.url}/v1/indexes/deal/documents", timeout=60,
                              files=[("files", (name, data, "application/octet-stream"))])
        assert response.status_code == 202, response.text
        assert wait_job(server, response.json()["job"]["id"])["status"] == "succeeded"
    listing = httpx.get(f"{server.url}/v1/indexes/deal/documents").json()
    by_id = {d["id"]: d for d in listing["data"]}
    assert by_id["thread.eml#report.txt"]["parent"] == "thread.eml"
    assert by_id["agreement.docx"]["type"] == "docx"
    assert {"doc_id": "call.mp4", "kind": "unsupported", "type": "mp4"}.items() <= \
        listing["skipped"][0].items()
    assert listing["types"]["mp4"] == {"unsupported": 1}
    answer = httpx.post(f"{server.url}/v1/ask", timeout=60, json={
        "question": "What is the status of invoice 0417 for mechanical completion?",
        "filters": {"doc_ids": ["schedule.xlsx"]}}).json()
    location = answer["citations"][0]["location"]
    assert location["kind"] == "sheet" and location["sheet"] == "Payments"
    assert location["label"].startswith("sheet Payments, row")
    delete = httpx.delete(f"{server.url}/v1/indexes/deal/documents/thread.eml%23report.txt")
    assert delete.status_code == 400 and "attachment" in delete.json()["error"]["message"]


@pytest.mark.parametrize("name,data,status,fragment", [
    ("bomb.docx", files.zip_bomb_docx(), 422, "zip bomb"),
    ("locked.xlsx", files.encrypted_office(), 422, "password"),
    ("cut.docx", files.docx_bytes()[:3000], 422, "damaged"),
    ("wide.csv", (",".join(["x"] * 1_000_000) + "\n").encode(), 422, "columns"),
    ("bomb.png", files.png_bomb(), 422, "pixels"),
    ("deep.eml", files.nested_eml(500), 422, "nested too deep"),
    ("song.mp3", b"ID3 fake", 415, "unsupported"),
])
def test_hostile_uploads_get_their_reason_and_never_a_5xx(
        server: Server, deal_dir: Path, name: str, data: bytes, status: int,
        fragment: str) -> None:
    response = httpx.post(f"{server.url}/v1/indexes/deal/documents", timeout=60,
                          files=[("files", (name, data, "application/octet-stream"))])
    assert response.status_code == status, response.text
    assert fragment in response.json()["error"]["message"]
    assert not (deal_dir / "deal" / "uploads" / name).exists()


def test_rag_ingest_counts_each_type_and_lists_every_file_it_did_not_index(
        tmp_path: Path, run_rag: RunRag) -> None:
    indexes_dir = tmp_path / "indexes"
    write_index(indexes_dir, "mixed", {
        "agreement.docx": files.docx_bytes(), "status.pptx": files.pptx_bytes(),
        "payments.csv": files.csv_text(), "locked.docx": files.encrypted_office(),
        "song.mp3": b"ID3 fake"})
    env = rag_env(indexes_dir)
    text = run_rag("ingest", "--index", "mixed", "--quiet", env=env)
    assert text.returncode == 1  # an encrypted file is a file the run could not read
    assert "by type: csv 1 indexed; docx 1 indexed, 1 encrypted; mp3 1 unsupported; " \
           "pptx 1 indexed" in text.stdout
    assert "skipped locked.docx (encrypted): password-protected" in text.stderr
    again = run_rag("ingest", "--index", "mixed", "--json", env=env)
    report = json.loads(again.stdout)
    assert report["types"]["docx"] == {"unchanged": 1, "encrypted": 1}
    assert {s["doc_id"]: s["kind"] for s in report["skipped"]} == {
        "locked.docx": "encrypted", "song.mp3": "unsupported"}
