"""The HTTP API, served by a real uvicorn process on 127.0.0.1, used through the official
`openai` client and httpx."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from tests.conftest import (
    ROOT,
    Server,
    build_news_copy,
    free_port,
    rag_env,
    wait_job,
    write_index,
)
from tests.test_answer import MEDINSKY_Q

CITATION_KEYS = {"marker", "doc_id", "title", "source", "url", "text", "start", "end",
                 "provenance", "location"}


@pytest.fixture(scope="module")
def news_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_news_copy(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def server(news_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = rag_env(news_dir, RAG_GENERATOR="extractive", RAG_MAX_UPLOAD_BYTES="200000")
    srv = Server(env, tmp_path_factory.mktemp("logs") / "server.log").wait_ready()
    yield srv
    srv.stop()


@pytest.fixture
def client(server: Server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0,
                         timeout=60)


def test_openai_client_gets_a_cited_answer(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(
        model="news", messages=[{"role": "user", "content": MEDINSKY_Q}])
    content = completion.choices[0].message.content or ""
    assert "Medinsky" in content and completion.choices[0].finish_reason == "stop"
    extra = completion.model_extra or {}
    assert extra["abstained"] is False and extra["generator"] == "extractive"
    assert extra["faithfulness"] == 1.0 and all(c["supported"] for c in extra["verification"])
    citations = extra["citations"]
    assert citations and all(set(c) == CITATION_KEYS for c in citations)
    assert any("Medinsky" in c["text"] for c in citations)
    for c in citations:
        assert f"[{c['marker']}]" in content
    assert completion.usage is not None


def test_openai_client_streams_and_gets_citations_in_the_last_chunk(
        client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="news", stream=True, messages=[{"role": "user", "content": MEDINSKY_Q}])
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Medinsky" in text
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop"
    citations = (last.model_extra or {})["citations"]
    assert citations and any("Medinsky" in c["text"] for c in citations)
    for c in citations:
        assert f"[{c['marker']}]" in text  # streamed markers match the citations
    assert all(not (c.model_extra or {}).get("citations") for c in chunks[:-1])


def test_earlier_turns_are_used_for_follow_ups(client: openai.OpenAI) -> None:
    completion = client.chat.completions.create(model="news", messages=[
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": MEDINSKY_Q},
        {"role": "assistant", "content": "Medinsky headed it [1]."},
        {"role": "user", "content": "and who headed the other delegation?"}])
    assert "Umerov" in (completion.choices[0].message.content or "")


def test_models_list_the_indexes(client: openai.OpenAI) -> None:
    assert [m.id for m in client.models.list()] == ["news"]


def test_native_ask_returns_the_cli_json_shape(server: Server) -> None:
    body = httpx.post(f"{server.url}/v1/ask", json={"question": MEDINSKY_Q}, timeout=60).json()
    assert list(body) == ["answer", "abstained", "citations", "generator", "fallback",
                          "timings_ms", "usage", "question", "standalone_question", "index",
                          "faithfulness", "quoted", "revised", "verification"]
    assert body["verification"] and body["faithfulness"] == 1.0
    izv = httpx.post(f"{server.url}/v1/ask", timeout=60, json={
        "question": MEDINSKY_Q, "filters": {"sources": ["Izvestia"]}}).json()
    assert all(c["source"] == "Izvestia" for c in izv["citations"])


@pytest.mark.parametrize("payload,status,code", [
    ({"model": "news", "messages": []}, 400, "invalid_request"),
    ({"model": "news"}, 400, "invalid_request"),
    ({"model": "news", "messages": [{"role": "assistant", "content": "hi"}]}, 400,
     "invalid_request"),
    ({"model": "news", "messages": [{"role": "user", "content": "why " * 1000}]}, 413,
     "payload_too_large"),
    ({"model": "nope", "messages": [{"role": "user", "content": "x"}]}, 404,
     "index_not_found"),
])
def test_errors_have_openais_shape_and_the_right_status(server: Server, payload: dict,
                                                        status: int, code: str) -> None:
    response = httpx.post(f"{server.url}/v1/chat/completions", json=payload, timeout=30)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code and error["message"] and error["type"]


def test_malformed_json_is_a_400(server: Server) -> None:
    response = httpx.post(f"{server.url}/v1/ask", content=b"{not json",
                          headers={"content-type": "application/json"})
    assert response.status_code == 400 and "invalid request" in response.json()["error"]["message"]


def test_openai_client_raises_its_own_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="nope", messages=[{"role": "user", "content": "x"}])


def test_every_response_has_a_request_id_that_is_in_the_log(server: Server) -> None:
    mine = httpx.get(f"{server.url}/v1/models", headers={"X-Request-ID": "test-req-42"})
    assert mine.headers["x-request-id"] == "test-req-42"
    generated = httpx.get(f"{server.url}/healthz").headers["x-request-id"]
    assert len(generated) == 32
    time.sleep(0.2)
    lines = [json.loads(line.split(": ", 1)[1]) for line in server.log().splitlines()
             if "service.access" in line]
    assert any(r["request_id"] == "test-req-42" and r["path"] == "/v1/models" for r in lines)
    assert any(r["request_id"] == generated for r in lines)


def test_metrics_count_requests_and_stage_latency(server: Server) -> None:
    httpx.post(f"{server.url}/v1/ask", json={"question": MEDINSKY_Q}, timeout=60)
    text = httpx.get(f"{server.url}/metrics").text
    assert 'rag_http_requests_total{method="POST",route="/v1/ask",status="200"}' in text
    assert 'rag_stage_duration_seconds_count{stage="retrieve"}' in text
    assert 'rag_answers_total{generator="extractive",outcome="answered"}' in text
    assert 'rag_errors_total{kind="index_not_found"}' in text


def test_health_and_readiness(server: Server) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/readyz").json()
    assert ready["status"] == "ready" and ready["checks"]["index"]["chunks"] > 0


def test_upload_list_fetch_and_delete_a_document(server: Server) -> None:
    text = ("Grain corridor talks\n\nThe grain corridor talks were chaired by Admiral Pelham "
            "Quorndon in Varna on 4 July, the port authority said.")
    response = httpx.post(f"{server.url}/v1/indexes/news/documents",
                          files=[("files", ("grain.txt", text.encode(), "text/plain"))])
    assert response.status_code == 202, response.text
    job = wait_job(server, response.json()["job"]["id"])
    assert job["status"] == "succeeded" and job["report"]["added"] == ["grain.txt"]
    docs = httpx.get(f"{server.url}/v1/indexes/news/documents").json()["data"]
    assert "grain.txt" in {d["id"] for d in docs}
    one = httpx.get(f"{server.url}/v1/indexes/news/documents/grain.txt").json()
    assert one["title"] == "Grain corridor talks" and "Pelham Quorndon" in one["text"]
    answer = httpx.post(f"{server.url}/v1/ask", timeout=60, json={
        "question": "Who chaired the grain corridor talks in Varna?"}).json()
    assert "Pelham Quorndon" in answer["answer"]
    deleted = httpx.delete(f"{server.url}/v1/indexes/news/documents/grain.txt")
    assert deleted.status_code == 202
    assert wait_job(server, deleted.json()["job"]["id"])["report"]["deleted"] == ["grain.txt"]
    assert httpx.get(f"{server.url}/v1/indexes/news/documents/grain.txt").status_code == 404


@pytest.mark.parametrize("name,data,status,fragment", [
    ("blob.txt", b"\x00\x01binary\x00" * 20, 422, "binary"),
    ("empty.md", b"  \n", 422, "empty"),
    ("tool.exe", b"MZ...", 415, "unsupported"),
    ("../escape.txt", b"text", 400, "invalid file name"),
    ("big.txt", b"word " * 50_000, 413, "RAG_MAX_UPLOAD_BYTES"),
])
def test_bad_uploads_are_rejected_and_nothing_is_written(
        server: Server, news_dir: Path, name: str, data: bytes, status: int,
        fragment: str) -> None:
    before = sorted(p.name for p in (news_dir / "news" / "docs").iterdir())
    response = httpx.post(f"{server.url}/v1/indexes/news/documents",
                          files=[("files", (name, data, "application/octet-stream"))])
    assert response.status_code == status
    assert fragment in response.json()["error"]["message"]
    assert sorted(p.name for p in (news_dir / "news" / "docs").iterdir()) == before


def test_queries_during_ingestion_answer_from_the_committed_index(server: Server) -> None:
    files = [("files", (f"bulk{i:02d}.txt", (f"Bulk report {i}\n\n" + "The committee met "
              f"again to discuss item {i} of the agenda at length. " * 40).encode(),
              "text/plain")) for i in range(30)]
    job = httpx.post(f"{server.url}/v1/indexes/news/documents", files=files,
                     timeout=60).json()["job"]
    answered_while_running = 0
    while httpx.get(f"{server.url}/v1/jobs/{job['id']}").json()["status"] in (
            "queued", "running"):
        body = httpx.post(f"{server.url}/v1/ask", json={"question": MEDINSKY_Q},
                          timeout=60).json()
        assert "Medinsky" in body["answer"]
        answered_while_running += 1
    assert answered_while_running >= 1
    docs = httpx.get(f"{server.url}/v1/indexes/news/documents").json()["data"]
    assert sum(d["id"].startswith("bulk") for d in docs) == 30
    for i in range(30):
        httpx.delete(f"{server.url}/v1/indexes/news/documents/bulk{i:02d}.txt")


def test_unknown_job_is_a_404(server: Server) -> None:
    assert httpx.get(f"{server.url}/v1/jobs/job-nope").status_code == 404


@pytest.mark.e2e
def test_api_keys_guard_everything_but_health(news_dir: Path, tmp_path: Path) -> None:
    srv = Server(rag_env(news_dir, RAG_GENERATOR="extractive", RAG_API_KEYS="k-one, k-two"),
                 tmp_path / "auth.log").wait_ready()
    try:
        assert httpx.get(f"{srv.url}/healthz").status_code == 200
        missing = httpx.get(f"{srv.url}/v1/models")
        assert missing.status_code == 401 and missing.json()["error"]["code"] == "invalid_api_key"
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = httpx.get(f"{srv.url}/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = openai.OpenAI(base_url=f"{srv.url}/v1", api_key="k-two", max_retries=0)
        assert [m.id for m in ok.models.list()] == ["news"]
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(base_url=f"{srv.url}/v1", api_key="bad", max_retries=0).models.list()
    finally:
        srv.stop()


@pytest.mark.e2e
def test_generator_down_gives_a_labelled_fallback(news_dir: Path, tmp_path: Path) -> None:
    env = rag_env(news_dir, RAG_GENERATOR="openai", RAG_LLM_MAX_RETRIES="0",
                  OPENAI_BASE_URL=f"http://127.0.0.1:{free_port()}/v1", OPENAI_API_KEY="x")
    srv = Server(env, tmp_path / "down.log").wait_ready()
    try:
        assert httpx.get(f"{srv.url}/readyz").status_code == 503
        client = openai.OpenAI(base_url=f"{srv.url}/v1", api_key="x", max_retries=0)
        completion = client.chat.completions.create(
            model="news", messages=[{"role": "user", "content": MEDINSKY_Q}])
        extra = completion.model_extra or {}
        assert extra["generator"] == "extractive" and "reach" in extra["fallback"]
        assert "language model is unavailable" in (completion.choices[0].message.content or "")
        chunks = list(client.chat.completions.create(
            model="news", stream=True, messages=[{"role": "user", "content": MEDINSKY_Q}]))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert "language model is unavailable" in text and "Medinsky" in text
    finally:
        srv.stop()


def test_asking_an_index_that_is_not_built_is_a_503(server: Server, news_dir: Path) -> None:
    write_index(news_dir, "unbuilt", {"a.txt": "Some text about the talks."})
    try:
        response = httpx.post(f"{server.url}/v1/chat/completions", timeout=30, json={
            "model": "unbuilt", "messages": [{"role": "user", "content": MEDINSKY_Q}]})
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "index_not_built" and "rag ingest --index unbuilt" in (
            error["message"])
    finally:
        shutil.rmtree(news_dir / "unbuilt")


@pytest.mark.e2e
def test_serve_refuses_to_start_on_an_unbuilt_default_index(tmp_path: Path) -> None:
    indexes = tmp_path / "indexes"
    write_index(indexes, "news", {"a.txt": "Some text."})
    env = rag_env(indexes, RAG_GENERATOR="extractive")
    result = subprocess.run([sys.executable, "-m", "service.cli.main", "serve", "--port",
                             str(free_port())], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 3 and "rag ingest --index news" in result.stderr


def test_a_second_answer_and_quotes_for_a_decline_are_counted_apart_in_the_metrics() -> None:
    from service.api.metrics import Metrics
    from tests.test_slack_parts import answer, citation

    metrics = Metrics()
    metrics.observe_answer(answer("Medinsky headed it [1].", [citation(1)], revised=True))
    metrics.observe_answer(answer("Medinsky headed it [1].", [citation(1)]))
    metrics.observe_answer(answer("“Medinsky headed it.” [1]", [citation(1)], quoted=True))
    text = metrics.render().decode()
    assert 'rag_answers_total{generator="extractive",outcome="revised"} 1.0' in text
    assert 'rag_answers_total{generator="extractive",outcome="answered"} 1.0' in text
    assert 'rag_answers_total{generator="extractive",outcome="quoted"} 1.0' in text
