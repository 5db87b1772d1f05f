"""Beyond one host, with the real servers on loopback: PostgreSQL (the state store and the
indexes, RAG_RETRIEVAL_BACKEND=postgres), two `rag serve` replicas that only queue ingestion
(RAG_INPROCESS_WORKER=0) and `rag worker` processes, each worker with its own copy of the
index folder, as on another host. A worker killed mid-job loses nothing; Slack retries,
rate limits and feedback hold across the replicas."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, RunRag, Server, rag_env
from tests.slack_api import TOKEN, SlackWebAPI
from tests.test_answer import MEDINSKY_Q
from tests.test_slack import SECRET, click, event_body, fresh, mention, signed_post, wait_log

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
USER_RATE = 3
GRAIN = ("Grain corridor talks\n\nThe grain corridor talks were chaired by Admiral "
         "Pelham Quorndon in Varna on 4 July.")


@dataclass
class Deployment:
    """Two replicas on one host and workers on hosts of their own."""

    base: Path
    env: dict[str, str]
    a: Server
    b: Server
    slack: SlackWebAPI | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def host_env(self, host: str, **extra: str) -> dict[str, str]:
        """The environment of a process on another host: its own copy of the indexes."""
        indexes = self.base / host / "indexes"
        if not indexes.exists():
            shutil.copytree(ROOT / "indexes" / "news", indexes / "news",
                            ignore=shutil.ignore_patterns("store"))
        return {**self.env, "RAG_INDEXES_DIR": str(indexes), **extra}

    def start_worker(self, host: str, **extra: str) -> subprocess.Popen[bytes]:
        log = open(self.base / f"{host}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", "service.cli.main", "worker"],
                                env=self.host_env(host, **extra), cwd=ROOT, stdout=log,
                                stderr=subprocess.STDOUT)
        self.workers.append(proc)
        return proc

    def stop(self) -> None:
        for proc in [self.a.proc, self.b.proc, *self.workers]:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.workers:
            proc.wait(timeout=30)
        self.a.stop()
        self.b.stop()


@pytest.fixture(scope="module")
def deployment(postgres_server: Any, tmp_path_factory: pytest.TempPathFactory
               ) -> Iterator[Deployment]:
    base = tmp_path_factory.mktemp("scale-out")
    with SlackWebAPI() as slack:
        env = rag_env(base, RAG_DATABASE_URL=postgres_server.new_database(),
                      RAG_RETRIEVAL_BACKEND="postgres", RAG_GENERATOR="extractive",
                      RAG_INPROCESS_WORKER="0", RAG_JOB_LEASE_S="2",
                      SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SECRET,
                      SLACK_API_URL=slack.url, RAG_SLACK_USER_RATE=str(USER_RATE),
                      RAG_SLACK_CHANNEL_RATE="100")
        deploy = Deployment(base, env, None, None, slack)  # type: ignore[arg-type]
        env.update(deploy.host_env("api"))  # both replicas: one host, one image
        built = subprocess.run([sys.executable, "-m", "service.cli.main", "ingest", "--quiet"],
                               env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert built.returncode == 0, built.stderr
        deploy.a = Server(env, base / "a.log")
        deploy.b = Server(env, base / "b.log")
        try:
            deploy.a.wait_ready()
            deploy.b.wait_ready()
            yield deploy
        finally:
            deploy.stop()


def _job(server: Server, job_id: str) -> dict[str, Any]:
    return httpx.get(f"{server.url}/v1/jobs/{job_id}", timeout=10).json()


def _wait_status(server: Server, job_id: str, statuses: set[str], seconds: float) -> dict:
    deadline = time.time() + seconds
    while time.time() < deadline:
        job = _job(server, job_id)
        if job["status"] in statuses:
            return job
        time.sleep(0.2)
    pytest.fail(f"job {job_id} never reached {statuses}: {job}")


def test_a_worker_killed_mid_job_loses_nothing_and_any_replica_answers(
        deployment: Deployment) -> None:
    a, b = deployment.a, deployment.b
    question = {"question": "Who chaired the grain corridor talks in Varna?"}
    assert httpx.post(f"{b.url}/v1/ask", json=question, timeout=60).json()["abstained"]
    up = httpx.post(f"{a.url}/v1/indexes/news/documents", timeout=60,
                    files=[("files", ("grain.txt", GRAIN.encode(), "text/plain"))])
    assert up.status_code == 202, up.text
    job_id = up.json()["job"]["id"]
    time.sleep(3)
    assert _job(b, job_id)["status"] == "queued"  # the replicas queue, they do not ingest
    slow = deployment.start_worker("worker-1", RAG_WORKER_JOB_DELAY_S="600")
    _wait_status(b, job_id, {"running"}, 60)
    time.sleep(1)
    os.kill(slow.pid, signal.SIGKILL)
    slow.wait(10)
    assert _job(a, job_id)["status"] == "running"  # leased to a dead worker
    deployment.start_worker("worker-2")
    job = _wait_status(a, job_id, {"succeeded", "failed"}, 180)
    assert job["status"] == "succeeded" and job["report"]["added"] == ["grain.txt"], job
    after = httpx.post(f"{b.url}/v1/ask", json=question, timeout=60).json()
    assert not after["abstained"] and "Pelham Quorndon" in after["answer"], after
    assert {c["doc_id"] for c in after["citations"]} == {"grain.txt"}
    docs = httpx.get(f"{b.url}/v1/indexes/news/documents", timeout=30).json()["data"]
    grain = next(d for d in docs if d["id"] == "grain.txt")
    assert grain["provenance"]["origin"] == "uploaded"
    deleted = httpx.delete(f"{b.url}/v1/indexes/news/documents/grain.txt", timeout=30)
    assert deleted.status_code == 202, deleted.text
    job = _wait_status(a, deleted.json()["job"]["id"], {"succeeded", "failed"}, 120)
    assert job["status"] == "succeeded" and job["report"]["deleted"] == ["grain.txt"], job
    assert not (deployment.base / "worker-2" / "indexes" / "news" / "docs" / "grain.txt"
                ).exists()


def test_a_slack_retry_delivered_to_the_other_replica_is_not_answered_twice(
        deployment: Deployment) -> None:
    slack, a, b = deployment.slack, deployment.a, deployment.b
    channel, user = fresh("C"), fresh("U")
    body = event_body(mention(slack, channel, user, MEDINSKY_Q), event_id="EvSCALE0001")
    assert signed_post(a, body, "application/json").status_code == 200
    retry = signed_post(b, body, "application/json", **{
        "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert retry.status_code == 200
    slack.wait_for("chat.update", channel)
    wait_log(b, "duplicate delivery of EvSCALE0001 ignored")
    assert len(slack.calls_to("chat.postMessage", channel)) == 1
    assert len(slack.calls_to("chat.update", channel)) == 1


def test_the_per_user_rate_limit_holds_across_replicas(deployment: Deployment) -> None:
    slack, user = deployment.slack, fresh("U")
    channels = [fresh("C") for _ in range(USER_RATE + 1)]
    for i, channel in enumerate(channels):  # alternate replicas: A, B, A, B
        server = deployment.a if i % 2 == 0 else deployment.b
        assert signed_post(server, event_body(mention(slack, channel, user, MEDINSKY_Q)),
                           "application/json").status_code == 200
    deadline = time.time() + 60
    while time.time() < deadline:
        refused = [c for c in channels if any("asking faster" in m.get("text", "")
                                              for m in slack.calls_to("chat.postMessage", c))]
        answered = [c for c in channels if slack.calls_to("chat.update", c)]
        if len(refused) + len(answered) == len(channels):
            break
        time.sleep(0.2)
    assert (len(answered), len(refused)) == (USER_RATE, 1)


def test_feedback_given_through_both_replicas_exports_together(
        deployment: Deployment, run_rag: RunRag, tmp_path: Path) -> None:
    slack, a, b = deployment.slack, deployment.a, deployment.b
    channel, user = fresh("C"), fresh("U")
    event = mention(slack, channel, user, MEDINSKY_Q)
    signed_post(a, event_body(event), "application/json")
    update = slack.wait_for("chat.update", channel)[0]
    assert click(b, update["blocks"], user, channel, update["ts"],  # clicked via B
                 event["ts"]).status_code == 200
    web = {"answer_id": "chatcmpl-scale-1", "user": "web-1", "verdict": "down",
           "comment": "too short", "answer": {
               "question": MEDINSKY_Q, "answer": "Medinsky [1].", "abstained": False,
               "citations": [], "index": "news", "generator": "extractive"}}
    assert httpx.post(f"{a.url}/v1/feedback", json=web, timeout=10).json()["stored"]
    assert httpx.post(f"{b.url}/v1/feedback", timeout=10,
                      json={**web, "verdict": "up", "user": "web-2"}).json()["stored"]
    slack.wait_for("chat.postEphemeral", channel)
    out = tmp_path / "feedback.jsonl"
    result = run_rag("feedback", "export", "--out", str(out), env=deployment.env)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    mine = {(r["surface"], r["user"], r["verdict"]) for r in records
            if r["user"] in (user, "web-1", "web-2")}
    assert mine == {("slack", user, "up"), ("web", "web-1", "down"), ("web", "web-2", "up")}
