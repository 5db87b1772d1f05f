"""The state store on both backends (`state_store`: SQLite in the unit tier, PostgreSQL in
the postgres tier): ingestion jobs as a leased queue, uploaded bytes, provenance,
migrations."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, select, text

from service.errors import DocumentConflict, IndexBusy, NotFound
from service.index.config import load_index_config
from service.ingest.guard import check_upload_label, check_upload_name, protected_labels
from service.records import Document, DocumentMeta, Provenance
from service.state.db import StateStore
from service.state.jobs import MAX_ATTEMPTS, JobStore
from service.state.provenance import ProvenanceStore
from service.state.schema import ingest_jobs, metadata
from tests.conftest import make_settings, write_index

HEAD = "0002"


@pytest.fixture
def state(state_store: StateStore) -> StateStore:
    return state_store


def test_a_job_and_its_files_are_durable_and_resolve_from_a_new_connection(
        state: StateStore) -> None:
    job = JobStore(state).create("news", "upload", "upload of 2 file(s)",
                                 files=[("a.txt", b"A"), ("b.txt", b"B")], api_key="key-1")
    state.close()
    reopened = JobStore(StateStore(state.url))
    assert reopened.get(job.job_id).public()["status"] == "queued"
    assert reopened.files(job.job_id) == [("a.txt", b"A"), ("b.txt", b"B")]
    if state.dialect == "sqlite":
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


def test_concurrent_claimers_each_get_a_different_job(state: StateStore) -> None:
    jobs = JobStore(state)
    created = {jobs.create("news", "upload", f"job {i}").job_id for i in range(4)}
    claimed: list[str | None] = []
    start = threading.Barrier(6)

    def claimer(owner: str) -> None:
        start.wait()
        job = JobStore(state).claim(owner, lease_s=30)
        claimed.append(job.job_id if job else None)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    got = [job_id for job_id in claimed if job_id]
    assert sorted(got) == sorted(created)  # every job once, nobody got the same one
    assert claimed.count(None) == 2


@pytest.mark.postgres
def test_a_claimer_skips_a_job_locked_by_another_claim_instead_of_waiting(
        postgres_server: Any) -> None:
    state = StateStore(postgres_server.new_database())
    jobs = JobStore(state)
    first = jobs.create("news", "upload", "first")
    second = jobs.create("news", "upload", "second")
    result: list[Any] = []
    with state.engine.connect() as other:  # another worker, mid-claim on the oldest job
        other.execute(select(ingest_jobs).where(ingest_jobs.c.job_id == first.job_id)
                      .with_for_update())
        thread = threading.Thread(target=lambda: result.append(jobs.claim("w2", 30)))
        thread.start()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the claim waited for the locked row (no SKIP LOCKED)"
        other.rollback()
    assert result[0].job_id == second.job_id
    state.close()


def test_renewing_keeps_a_job_and_only_its_owner_can_renew_or_release(
        state: StateStore) -> None:
    jobs = JobStore(state)
    job = jobs.create("news", "upload", "r")
    jobs.claim("w1", lease_s=0.5)
    assert not jobs.renew(job.job_id, "w2", lease_s=30)
    assert not jobs.release(job.job_id, "w2", delay_s=0)
    assert jobs.renew(job.job_id, "w1", lease_s=30)
    time.sleep(0.7)  # past the first lease, within the renewed one
    assert jobs.claim("w2", lease_s=30) is None
    assert jobs.release(job.job_id, "w1", delay_s=0)
    again = jobs.claim("w2", lease_s=30)
    assert again.job_id == job.job_id and again.attempts == 1  # a release is no attempt


def test_uploaded_bytes_are_kept_and_laid_out_on_any_host(state: StateStore,
                                                          tmp_path: Path) -> None:
    store = ProvenanceStore(state)
    store.keep_files("news", [("a.txt", b"A"), ("b.txt", b"B")])
    host_1, host_2 = tmp_path / "host-1", tmp_path / "host-2"
    host_1.mkdir()
    host_2.mkdir()
    (host_2 / "bundled.txt").write_bytes(b"bundled")

    def write(path: Path, data: bytes) -> None:
        path.write_bytes(data)

    store.sync_folder("news", host_1, write)
    store.forget("news", "a.txt")
    store.keep_files("news", [("b.txt", b"B2")])
    store.sync_folder("news", host_1, write)
    store.sync_folder("news", host_2, write)
    for host in (host_1, host_2):
        assert not (host / "a.txt").exists() and (host / "b.txt").read_bytes() == b"B2"
    assert (host_2 / "bundled.txt").read_bytes() == b"bundled"  # not an upload: left alone


def test_the_migrated_schema_matches_the_tables_the_code_uses(state: StateStore) -> None:
    inspector = inspect(state.engine)
    for table in metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == {c.name for c in table.columns}, table.name
    with state.engine.connect() as db:
        assert db.execute(text("SELECT version_num FROM alembic_version")).scalar() == HEAD
    StateStore(state.url).close()  # a second start finds nothing to do


def test_a_store_made_before_migrations_is_adopted_and_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = create_engine(url)
    metadata.create_all(engine, tables=[ingest_jobs])  # what `create_all` made before
    with engine.begin() as db:
        db.execute(ingest_jobs.insert().values(
            job_id="job-old", index_name="news", kind="delete", reason="r", status="queued",
            created_at=1.0, attempts=0))
    engine.dispose()
    state = StateStore(url)
    assert JobStore(state).get("job-old").status == "queued"
    assert inspect(state.engine).has_table("rate_hits")
    state.close()


def test_one_writer_per_index_across_processes_sharing_the_store(
        state: StateStore, tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "indexes")
    write_index(settings.indexes_dir, "news", {"a.txt": "A\n\nText."})
    config = load_index_config(settings, "news")
    other_host = StateStore(state.url)
    with state.index_lock(config), pytest.raises(IndexBusy, match="being ingested"):
        other_host.index_lock(config).__enter__()
    with other_host.index_lock(config):  # released: the other one may write now
        pass
    other_host.close()
