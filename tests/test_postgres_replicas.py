"""Stateless replicas on the PostgreSQL backend, with the real servers on loopback: one
PostgreSQL (state store and index), two `rag serve` replicas that only queue ingestion
(RAG_INPROCESS_WORKER=0) and `rag worker` processes with their own copy of the index
folder, as on other hosts. Nothing of the corpus lives in a replica: what a worker
commits is answerable on the other replica within 5 s, a delete likewise, and a worker
killed mid-ingest leaves nothing half-visible."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, Server, rag_env, wait_job
from tests.test_ingest import _stress_corpus
from tests.test_scale_out import Deployment

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
VISIBLE_WITHIN_S = 5.0
GRAIN = ("Grain corridor talks\n\nThe grain corridor talks were chaired by Admiral "
         "Pelham Quorndon in Varna on 4 July.")
QUESTION = {"question": "Who chaired the grain corridor talks in Varna?"}


@pytest.fixture(scope="module")
def replicas(postgres_server: Any, tmp_path_factory: pytest.TempPathFactory
             ) -> Iterator[Deployment]:
    base = tmp_path_factory.mktemp("pg-replicas")
    env = rag_env(base, RAG_DATABASE_URL=postgres_server.new_database(),
                  RAG_RETRIEVAL_BACKEND="postgres", RAG_GENERATOR="extractive",
                  RAG_INPROCESS_WORKER="0", RAG_JOB_LEASE_S="2")
    deploy = Deployment(base, env, None, None)  # type: ignore[arg-type]
    env.update(deploy.host_env("api"))  # both replicas: one host
    built = subprocess.run([sys.executable, "-m", "service.cli.main", "ingest", "--quiet"],
                           env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    # The replicas have no index store on disk at all: all of it is in PostgreSQL.
    assert not (base / "api" / "indexes" / "news" / "store").exists()
    deploy.a = Server(env, base / "a.log")
    deploy.b = Server(env, base / "b.log")
    try:
        deploy.a.wait_ready()
        deploy.b.wait_ready()
        deploy.start_worker("worker-1")
        yield deploy
    finally:
        deploy.stop()


def _ask(server: Server) -> dict[str, Any]:
    return httpx.post(f"{server.url}/v1/ask", json=QUESTION, timeout=60).json()


def _seconds_until(check: Any, limit: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < limit + 10:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    pytest.fail("never became visible")


def test_a_commit_on_one_replica_is_answered_by_the_other_within_5_s(
        replicas: Deployment) -> None:
    a, b = replicas.a, replicas.b
    ready = httpx.get(f"{b.url}/readyz", timeout=10).json()
    assert "postgres" in str(ready), ready
    assert _ask(b)["abstained"]
    up = httpx.post(f"{a.url}/v1/indexes/news/documents", timeout=60,
                    files=[("files", ("grain.txt", GRAIN.encode(), "text/plain"))])
    assert up.status_code == 202, up.text
    job = wait_job(a, up.json()["job"]["id"])
    assert job["status"] == "succeeded" and job["report"]["added"] == ["grain.txt"], job
    seen = _seconds_until(lambda: "Pelham Quorndon" in _ask(b).get("answer", ""),
                          VISIBLE_WITHIN_S)
    assert seen <= VISIBLE_WITHIN_S
    answer = _ask(b)
    assert {c["doc_id"] for c in answer["citations"]} == {"grain.txt"}

    deleted = httpx.delete(f"{b.url}/v1/indexes/news/documents/grain.txt", timeout=30)
    assert deleted.status_code == 202, deleted.text
    job = wait_job(b, deleted.json()["job"]["id"])
    assert job["status"] == "succeeded" and job["report"]["deleted"] == ["grain.txt"], job
    gone = _seconds_until(lambda: _ask(a)["abstained"], VISIBLE_WITHIN_S)
    assert gone <= VISIBLE_WITHIN_S


def test_a_worker_killed_mid_ingest_leaves_nothing_half_visible(replicas: Deployment) -> None:
    a, b = replicas.a, replicas.b
    for proc in replicas.workers:  # this test runs its own workers
        proc.terminate()
        proc.wait(timeout=30)
    docs_before = {d["id"] for d in httpx.get(f"{b.url}/v1/indexes/news/documents",
                                              timeout=30).json()["data"]}
    chunks_before = httpx.get(f"{b.url}/readyz", timeout=10).json()
    corpus = _stress_corpus(40)
    up = httpx.post(f"{a.url}/v1/indexes/news/documents", timeout=60, files=[
        ("files", (f"bulk-{name}", text.encode(), "text/plain"))
        for name, text in corpus.items()])
    assert up.status_code == 202, up.text
    job_id = up.json()["job"]["id"]
    worker = replicas.start_worker("worker-2")
    deadline = time.time() + 120
    while httpx.get(f"{a.url}/v1/jobs/{job_id}", timeout=10).json()["status"] != "running":
        assert time.time() < deadline, "the worker never took the job"
        time.sleep(0.1)
    time.sleep(2.5)  # into the run: reading, embedding and writing 40 documents
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(10)
    job = httpx.get(f"{a.url}/v1/jobs/{job_id}", timeout=10).json()
    assert job["status"] == "running", f"the ingest ended before it could be killed: {job}"
    # Nothing of the killed run is visible on either replica: same documents, same chunks.
    for server in (a, b):
        docs = {d["id"] for d in httpx.get(f"{server.url}/v1/indexes/news/documents",
                                           timeout=30).json()["data"]}
        assert docs == docs_before
        assert httpx.get(f"{server.url}/readyz", timeout=10).json() == chunks_before
    replicas.start_worker("worker-3")
    job = wait_job(a, job_id, 300)
    assert job["status"] == "succeeded" and len(job["report"]["added"]) == 40, job
    docs = {d["id"] for d in httpx.get(f"{b.url}/v1/indexes/news/documents",
                                       timeout=30).json()["data"]}
    assert docs == docs_before | {f"bulk-{name}" for name in corpus}
