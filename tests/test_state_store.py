"""The state store (SQLite default): ingestion jobs as a leased queue, uploaded bytes kept
until the job ends, provenance of uploaded documents."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from service.errors import DocumentConflict, NotFound
from service.ingest.guard import check_upload_label, check_upload_name, protected_labels
from service.records import Document, DocumentMeta, Provenance
from service.state.db import StateStore
from service.state.jobs import MAX_ATTEMPTS, JobStore
from service.state.provenance import ProvenanceStore


@pytest.fixture
def state(tmp_path: Path) -> StateStore:
    store = StateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}")
    yield store
    store.close()


def test_a_job_and_its_files_are_durable_and_resolve_from_a_new_connection(
        state: StateStore, tmp_path: Path) -> None:
    job = JobStore(state).create("news", "upload", "upload of 2 file(s)",
                                 files=[("a.txt", b"A"), ("b.txt", b"B")], api_key="key-1")
    state.close()
    reopened = JobStore(StateStore(f"sqlite:///{tmp_path / 'state.sqlite3'}"))
    assert reopened.get(job.job_id).public()["status"] == "queued"
    assert reopened.files(job.job_id) == [("a.txt", b"A"), ("b.txt", b"B")]
    with state.engine.connect() as db:
        assert db.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    with pytest.raises(NotFound):
        reopened.get("job-nope")


def test_claims_are_exclusive_and_a_dead_workers_job_is_claimed_again(
        state: StateStore) -> None:
    jobs = JobStore(state)
    job = jobs.create("news", "upload", "r", files=[("a.txt", b"A")])
    assert jobs.claim("worker-1", lease_s=0.2).job_id == job.job_id
    assert jobs.claim("worker-2", lease_s=0.2) is None  # leased to worker-1
    time.sleep(0.3)  # worker-1 died: its lease runs out
    again = jobs.claim("worker-2", lease_s=30)
    assert again.job_id == job.job_id and again.attempts == 2
    assert not jobs.finish(job.job_id, "worker-1", report={})  # no longer its job
    assert jobs.finish(job.job_id, "worker-2", report={"added": ["a.txt"]})
    done = jobs.get(job.job_id)
    assert done.status == "succeeded" and done.report == {"added": ["a.txt"]}
    assert jobs.files(job.job_id) == []  # bytes are dropped once the job ended


def test_jobs_run_oldest_first_and_a_released_job_waits(state: StateStore) -> None:
    jobs = JobStore(state)
    first = jobs.create("news", "upload", "first")
    second = jobs.create("news", "delete", "second", target="a.txt")
    assert jobs.claim("w", 30).job_id == first.job_id
    assert jobs.release(first.job_id, "w", delay_s=60)
    assert jobs.claim("w", 30).job_id == second.job_id
    assert jobs.claim("w", 30) is None


def test_a_job_that_keeps_killing_its_worker_is_failed(state: StateStore) -> None:
    jobs = JobStore(state)
    job = jobs.create("news", "upload", "poison")
    for _ in range(MAX_ATTEMPTS):
        assert jobs.claim("w", lease_s=-1) is not None  # claimed, lease already over
    assert jobs.claim("w", lease_s=30) is None
    assert jobs.get(job.job_id).status == "failed"
    assert "gave up" in (jobs.get(job.job_id).error or "")


def test_provenance_is_recorded_replaced_and_forgotten(state: StateStore) -> None:
    store = ProvenanceStore(state)
    store.record("news", ["a.txt"], Provenance(origin="uploaded", api_key="key-1"))
    store.record("news", ["a.txt"], Provenance(origin="uploaded", api_key="key-2"))
    assert store.for_index("news")["a.txt"].api_key == "key-2"
    assert store.for_index("other") == {}
    store.forget("news", "a.txt")
    assert store.for_index("news") == {}


def _doc(title: str, source: str | None, origin: str = "bundled") -> Document:
    return Document(doc_id=f"{title}.txt", path="p", root="docs", sha256="0", text="t",
                    meta=DocumentMeta(title=title, source=source), sentences=[],
                    provenance=Provenance(origin=origin))  # type: ignore[arg-type]


def test_an_upload_cannot_take_the_name_of_a_source_or_a_bundled_title() -> None:
    labels = protected_labels([_doc("Istanbul talks", "Izvestia"),
                               _doc("My upload", None, origin="uploaded")])
    assert labels == {"izvestia", "istanbul talks"}
    for title in ("Izvestia", "IZVESTIA: exclusive", "Istanbul  talks"):
        with pytest.raises(DocumentConflict, match="RAG_UPLOADS_MAY_CLAIM_SOURCES"):
            check_upload_label("x.txt", title, labels)
    check_upload_label("x.txt", "Izvestiya readers' letters", labels)
    check_upload_label("x.txt", "My upload", labels)  # uploads protect no title
    with pytest.raises(DocumentConflict, match="bundled"):
        check_upload_name("000.txt", present=True, uploaded_before=False)
    check_upload_name("mine.txt", present=True, uploaded_before=True)
