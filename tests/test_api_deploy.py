"""Deployment shapes: two API replicas on one Chroma server, and the `openai` generator
of the server against a real llama.cpp server; client disconnects stop generation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from service.generation.local_llm import LocalLLM
from service.pipeline import Pipeline
from service.records import AskRequest
from tests.conftest import Server, bundled_gguf, make_settings, rag_env, run_rag  # noqa: F401
from tests.test_answer import MEDINSKY_Q
from tests.test_backends_remote import chroma_server  # noqa: F401  (fixture)
from tests.test_llm_backends import TEST_MODEL, llama_server  # noqa: F401  (fixture)


def test_a_document_uploaded_through_one_replica_is_answered_by_the_other(
        tmp_path: Path, chroma_server: str, run_rag) -> None:  # noqa: F811
    import shutil

    from tests.conftest import ROOT
    indexes = tmp_path / "indexes"
    shutil.copytree(ROOT / "indexes" / "news", indexes / "news",
                    ignore=shutil.ignore_patterns("store"))
    env = rag_env(indexes, RAG_GENERATOR="extractive", RAG_CHROMA_URL=chroma_server)
    built = run_rag("ingest", "--quiet", env=env)
    assert built.returncode == 0, built.stderr
    a = Server(env, tmp_path / "a.log")
    b = Server(env, tmp_path / "b.log")
    try:
        a.wait_ready()
        b.wait_ready()
        question = {"question": "Who chaired the grain corridor talks in Varna?"}
        before = httpx.post(f"{b.url}/v1/ask", json=question, timeout=60).json()
        assert before["abstained"]
        text = ("Grain corridor talks\n\nThe grain corridor talks were chaired by Admiral "
                "Pelham Quorndon in Varna on 4 July.")
        up = httpx.post(f"{a.url}/v1/indexes/news/documents",
                        files=[("files", ("grain.txt", text.encode(), "text/plain"))])
        job_id = up.json()["job"]["id"]
        deadline = time.time() + 120
        while httpx.get(f"{a.url}/v1/jobs/{job_id}").json()["status"] != "succeeded":
            assert time.time() < deadline
            time.sleep(0.2)
        after = httpx.post(f"{b.url}/v1/ask", json=question, timeout=60).json()
        assert not after["abstained"] and "Pelham Quorndon" in after["answer"]
        assert after["citations"], after
        assert {c["doc_id"] for c in after["citations"]} == {"grain.txt"}
        assert not (indexes / "news" / "store" / "chroma").exists()
    finally:
        a.stop()
        b.stop()


@pytest.fixture(scope="module")
def openai_server(llama_server: str,  # noqa: F811
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    from tests.conftest import build_news_copy
    indexes = build_news_copy(tmp_path_factory.mktemp("oai"))
    env = rag_env(indexes, RAG_GENERATOR="openai", OPENAI_BASE_URL=llama_server,
                  OPENAI_API_KEY="x", RAG_LLM_MODEL="test-model", RAG_LLM_MAX_RETRIES="0")
    srv = Server(env, tmp_path_factory.mktemp("oai-logs") / "server.log").wait_ready()
    yield srv
    srv.stop()


@pytest.mark.llm
def test_server_answers_with_the_openai_generator_on_llama_cpp(openai_server: Server) -> None:
    client = openai.OpenAI(base_url=f"{openai_server.url}/v1", api_key="x", max_retries=0,
                           timeout=120)
    assert httpx.get(f"{openai_server.url}/readyz").status_code == 200
    completion = client.chat.completions.create(
        model="news", messages=[{"role": "user", "content": MEDINSKY_Q}])
    extra = completion.model_extra or {}
    assert extra["generator"] == "openai" and extra["fallback"] is None
    assert completion.usage and completion.usage.completion_tokens > 0
    assert "Medinsky" in (completion.choices[0].message.content or "")
    chunks = list(client.chat.completions.create(
        model="news", stream=True, messages=[{"role": "user", "content": MEDINSKY_Q}]))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    citations = (chunks[-1].model_extra or {})["citations"]
    for c in citations:
        assert f"[{c['marker']}]" in text


@pytest.mark.llm
def test_client_disconnect_mid_stream_is_noticed(openai_server: Server) -> None:
    with httpx.stream("POST", f"{openai_server.url}/v1/chat/completions", timeout=120, json={
            "model": "news", "stream": True,
            "messages": [{"role": "user", "content": MEDINSKY_Q}]}) as response:
        for line in response.iter_lines():
            if line.startswith("data:"):
                break  # first event received: hang up
    deadline = time.time() + 30
    while time.time() < deadline:
        metrics = httpx.get(f"{openai_server.url}/metrics").text
        if 'rag_errors_total{kind="client_disconnected"}' in metrics:
            return
        time.sleep(0.2)
    pytest.fail("the server did not notice the disconnect")


@pytest.mark.llm
def test_closing_a_stream_stops_the_local_model(news_settings) -> None:  # type: ignore[no-untyped-def]
    bundled_gguf("qwen2.5-coder-1.5b")  # the 0.5B answers in three tokens: nothing to stop
    settings = news_settings.model_copy(update={"generator": "local", "llm_max_tokens": 2000})
    pipeline = Pipeline(settings)
    # a question the model answers in words (a NOT FOUND is held back until it is whole)
    events = pipeline.stream(AskRequest(
        question="What did German Defense Minister Boris Pistorius say or announce?"))
    first = next(events)
    assert isinstance(first, str) and first
    llm = pipeline.resources.generator("local").chat
    assert isinstance(llm, LocalLLM)
    assert llm.busy()  # generating: the model is busy
    events.close()
    deadline = time.monotonic() + 5
    while llm.busy() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not llm.busy()  # closed: generation stopped, the model is free


@pytest.mark.llm
def test_a_client_that_hangs_up_mid_answer_leaves_the_local_model_free(
        tmp_path: Path) -> None:
    """Hang up after the first words, then ask again: the second answer comes from the
    local model, not from the 'model busy' fallback (a dropped stream used to keep the
    model's lock until the garbage collector found it)."""
    from tests.conftest import build_news_copy, bundled_gguf

    bundled_gguf(TEST_MODEL)
    env = rag_env(build_news_copy(tmp_path), RAG_GENERATOR="local", RAG_LOCAL_MODEL=TEST_MODEL,
                  RAG_LLM_TIMEOUT_S="60")
    server = Server(env, tmp_path / "server.log").wait_ready(300)
    body = {"model": "news", "stream": True,
            "messages": [{"role": "user", "content": MEDINSKY_Q}]}
    try:
        with httpx.stream("POST", f"{server.url}/v1/chat/completions", json=body,
                          timeout=120) as response:
            for line in response.iter_lines():
                if '"content": "' in line and '"content": ""' not in line:
                    break  # the first words: hang up
        answer = httpx.post(f"{server.url}/v1/ask", json={"question": MEDINSKY_Q},
                            timeout=120).json()
        assert answer["generator"] == "local" and answer["fallback"] is None, answer
    finally:
        server.stop()
