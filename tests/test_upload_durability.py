"""Uploads under stress, against a real `rag serve`: an accepted upload survives `kill -9`,
and a hostile upload of the largest allowed size never stalls the server."""

from __future__ import annotations

import io
import os
import signal
import stat
import threading
import time
from pathlib import Path

import httpx
import pytest

from service.index.config import load_index_config
from service.ingest.pipeline import ingest
from tests.conftest import Server, make_settings, rag_env, write_index

pytestmark = pytest.mark.e2e

FACTS = [("Harwell", "Ondine Marchbank"), ("Tarrow", "Ferris Quillon")]


def _report(i: int) -> bytes:
    town, chair = FACTS[i % 2] if i < 2 else (f"Town{i}", f"Chair{i}")
    body = " ".join(f"Point {j} of the {town} water board minutes was adopted after a long "
                    f"debate about pipes, budgets and reservoir number {j}." for j in range(40))
    return (f"{town} water board report {i}\n\nThe {town} water board meeting was chaired "
            f"by {chair}. {body}").encode()


def _water_index(tmp_path: Path) -> Path:
    indexes = tmp_path / "indexes"
    write_index(indexes, "water", {"intro.txt": "Water boards\n\nWater boards meet monthly."})
    settings = make_settings(indexes)
    ingest(load_index_config(settings, "water"), settings, show_progress=False)
    return indexes


def _wait_job(url: str, job_id: str, seconds: float = 300) -> dict:
    deadline = time.time() + seconds
    while time.time() < deadline:
        job = httpx.get(f"{url}/v1/jobs/{job_id}", timeout=10).json()
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.3)
    pytest.fail(f"job {job_id} did not finish")


def test_an_upload_accepted_before_kill_9_is_ingested_after_restart(tmp_path: Path) -> None:
    indexes = _water_index(tmp_path)
    env = rag_env(indexes, RAG_INDEX="water", RAG_GENERATOR="extractive", RAG_JOB_LEASE_S="3")
    server = Server(env, tmp_path / "first.log").wait_ready()
    try:
        files = [("files", (f"report{i:02d}.txt", _report(i), "text/plain"))
                 for i in range(50)]
        accepted = httpx.post(f"{server.url}/v1/indexes/water/documents", files=files,
                              timeout=120)
        assert accepted.status_code == 202, accepted.text
        job_id = accepted.json()["job"]["id"]
        while httpx.get(f"{server.url}/v1/jobs/{job_id}").json()["status"] == "queued":
            time.sleep(0.05)
        time.sleep(0.5)
        assert httpx.get(f"{server.url}/v1/jobs/{job_id}").json()["status"] == "running"
        os.kill(server.proc.pid, signal.SIGKILL)
        server.proc.wait(10)
    finally:
        server.stop()
    restarted = Server(env, tmp_path / "second.log").wait_ready()
    try:
        job = _wait_job(restarted.url, job_id)
        assert job["status"] == "succeeded", job
        docs = httpx.get(f"{restarted.url}/v1/indexes/water/documents").json()["data"]
        assert sum(d["id"].startswith("report") for d in docs) == 50
        answer = httpx.post(f"{restarted.url}/v1/ask", timeout=60, json={
            "question": "Who chaired the Tarrow water board meeting?"}).json()
        assert "Ferris Quillon" in answer["answer"], answer
        assert {c["doc_id"] for c in answer["citations"]} == {"report01.txt"}
        uploaded = indexes / "water" / "docs" / "report01.txt"
        assert stat.S_IMODE(uploaded.stat().st_mode) == 0o644
    finally:
        restarted.stop()


def _hostile_html(size: int) -> bytes:
    unit = b"<p>Sentence number here.</p>"
    head, tail = b"<html><body>", b"</body></html>"
    return head + unit * ((size - len(head) - len(tail)) // len(unit)) + tail


def _hostile_pdf(size: int) -> bytes:
    """One page whose content stream draws the same word hundreds of thousands of times."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                             NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject(
        {NameObject("/F1"): writer._add_object(font)})})
    op = b"BT /F1 12 Tf 72 712 Td (word) Tj ET\n"
    stream = DecodedStreamObject()
    stream.set_data(op * ((size - 2000) // len(op)))
    page[NameObject("/Contents")] = writer._add_object(stream)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _poll_health(url: str, stop: threading.Event, worst: list[float]) -> None:
    with httpx.Client(timeout=5) as client:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                ok = client.get(f"{url}/healthz").status_code == 200
            except httpx.HTTPError:  # a stalled server: the poll timed out
                ok = False
            worst.append(time.perf_counter() - started if ok else float("inf"))
            time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("name,make", [("flood.html", _hostile_html),
                                       ("flood.pdf", _hostile_pdf)])
def test_healthz_stays_fast_while_the_largest_hostile_upload_is_read(
        tmp_path: Path, name: str, make) -> None:  # type: ignore[no-untyped-def]
    limit = 20_000_000  # the default RAG_MAX_UPLOAD_BYTES
    data = make(limit - 1000)
    assert limit - 50_000 < len(data) <= limit
    indexes = _water_index(tmp_path)
    env = rag_env(indexes, RAG_INDEX="water", RAG_GENERATOR="extractive",
                  RAG_PARSE_BUDGET_S="8")
    server = Server(env, tmp_path / "server.log").wait_ready()
    stop, latencies = threading.Event(), []
    poller = threading.Thread(target=_poll_health, args=(server.url, stop, latencies))
    poller.start()
    try:
        time.sleep(0.5)
        response = httpx.post(f"{server.url}/v1/indexes/water/documents", timeout=120,
                              files=[("files", (name, data, "application/octet-stream"))])
        time.sleep(0.5)
    finally:
        stop.set()
        poller.join()
        server.stop()
    print(f"\n{name}: {len(data)} bytes -> {response.status_code}; /healthz max "
          f"{max(latencies) * 1000:.0f} ms over {len(latencies)} polls")
    assert response.status_code in (202, 422), response.text
    if response.status_code == 422:
        assert "RAG_PARSE_BUDGET_S" in response.json()["error"]["message"]
    assert len(latencies) > 20 and max(latencies) < 0.5
