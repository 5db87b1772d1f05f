"""The answering service with the extractive generator (no LLM) and the fallback path."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.errors import BadRequest, IndexNotBuilt, IndexNotFound, PayloadTooLarge
from service.generation.prompts import prompt
from service.generation.wording import is_abstention
from service.index.config import load_index_config
from service.index.store import IndexStore
from service.pipeline import Pipeline
from service.records import Answer, Filters, Turn
from tests.conftest import ROOT, RunRag, ask, make_settings, rag_env, write_index

MEDINSKY_Q = "Who headed the Russian delegation at the Istanbul talks?"
UNANSWERABLE = [
    "What is the capital of Australia?",
    "What did the EU decide about a gas price cap?",
    "How many goals did Messi score in 2022?",
]


@pytest.fixture(scope="module")
def extractive(news_settings) -> Pipeline:  # type: ignore[no-untyped-def]
    return Pipeline(news_settings)


def assert_citations_consistent(answer: Answer, settings) -> None:  # type: ignore[no-untyped-def]
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", answer.answer)}
    assert markers == {c.marker for c in answer.citations}
    assert sorted(markers) == list(range(1, len(markers) + 1))
    store = IndexStore(load_index_config(settings, answer.index), settings)
    docs = {d.doc_id: d for d in store.iter_documents(store.require_manifest().generation)}
    for c in answer.citations:
        assert docs[c.doc_id].text[c.start : c.end] == c.text
        assert c.text in {p.text for p in answer.passages}  # it was given to the generator


def test_extractive_answer_quotes_and_cites_the_medinsky_passage(
        extractive: Pipeline, news_settings) -> None:  # type: ignore[no-untyped-def]
    answer = ask(extractive, MEDINSKY_Q)
    assert not answer.abstained and answer.generator == "extractive"
    assert "Medinsky" in answer.answer
    cited = [c for c in answer.citations if "Medinsky" in c.text]
    assert cited and f"[{cited[0].marker}]" in answer.answer
    assert answer.answer.startswith("According to")
    assert_citations_consistent(answer, news_settings)


def test_extractive_answers_are_deterministic(extractive: Pipeline) -> None:
    first, second = ask(extractive, MEDINSKY_Q), ask(extractive, MEDINSKY_Q)
    assert first.answer == second.answer and first.citations == second.citations


@pytest.mark.parametrize("question", UNANSWERABLE)
def test_questions_the_articles_do_not_answer_are_abstained_on(
        extractive: Pipeline, question: str) -> None:
    answer = ask(extractive, question)
    assert answer.abstained
    assert answer.citations == []
    assert answer.answer == prompt("abstain")


def test_contested_claims_are_attributed_to_their_source(extractive: Pipeline) -> None:
    answer = ask(extractive, "Did Kiev violate the moratorium on strikes on energy infrastructure?")
    assert not answer.abstained
    for sentence in re.split(r"(?<=\])\s+", answer.answer):
        assert sentence.startswith("According to"), sentence


def test_follow_up_uses_the_conversation(extractive: Pipeline) -> None:
    history = [Turn(role="user", content=MEDINSKY_Q),
               Turn(role="assistant", content="Medinsky headed it [1].")]
    answer = ask(extractive, "and who headed the other delegation?", history=history)
    assert MEDINSKY_Q in answer.standalone_question  # no LLM: the context is carried over
    assert "Umerov" in answer.answer


def test_filters_reach_the_answer(extractive: Pipeline) -> None:
    answer = ask(extractive, MEDINSKY_Q, filters=Filters(sources=["Izvestia"]))
    assert all(c.source == "Izvestia" for c in answer.citations)
    assert "Medinsky" not in answer.answer


def test_bad_questions_are_rejected_with_a_reason(extractive: Pipeline) -> None:
    with pytest.raises(BadRequest, match="empty"):
        ask(extractive, "   ")
    with pytest.raises(PayloadTooLarge, match="limit"):
        ask(extractive, "why " * 1000)


def test_unknown_and_unbuilt_indexes_say_how_to_fix_it(indexes_dir: Path) -> None:
    write_index(indexes_dir, "empty", {"a.txt": "Some text here."})
    service = Pipeline(make_settings(indexes_dir, generator="extractive"))
    with pytest.raises(IndexNotFound, match="rag index create"):
        ask(service, "anything", index="missing")
    with pytest.raises(IndexNotBuilt, match="rag ingest --index empty"):
        ask(service, "anything", index="empty")


def test_abstention_phrases_are_recognised() -> None:
    assert is_abstention("NOT FOUND")
    assert is_abstention("The passages do not mention the venue.")
    assert not is_abstention("Medinsky headed it [1].")
    assert not is_abstention("The sources do not say when, but Medinsky led it [2].")


@pytest.fixture
def silent_server() -> Iterator[str]:
    """An HTTP endpoint that accepts connections and never answers (a hung LLM)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    clients: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                clients.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"
    stop.set()
    thread.join()
    for c in clients:
        c.close()
    server.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_llm_down_gives_the_extractive_answer_labelled_as_fallback(news_settings) -> None:  # type: ignore[no-untyped-def]
    settings = news_settings.model_copy(update={
        "generator": "openai", "openai_base_url": f"http://127.0.0.1:{_closed_port()}/v1",
        "llm_max_retries": 0, "llm_timeout_s": 5.0})
    answer = ask(Pipeline(settings), MEDINSKY_Q)
    assert answer.generator == "extractive"
    assert answer.fallback and "reach" in answer.fallback
    assert answer.answer.startswith(prompt("fallback_notice"))
    assert "Medinsky" in answer.answer and answer.citations


def test_llm_timeout_gives_the_fallback_too(news_settings, silent_server: str) -> None:  # type: ignore[no-untyped-def]
    settings = news_settings.model_copy(update={
        "generator": "openai", "openai_base_url": silent_server, "llm_max_retries": 0,
        "llm_timeout_s": 1.0})
    answer = ask(Pipeline(settings), MEDINSKY_Q)
    assert answer.generator == "extractive"
    assert answer.fallback and "timed out" in answer.fallback
    assert answer.timings_ms["generate"] < 5000


JSON_SCHEMA = {"answer": str, "abstained": bool, "citations": list, "generator": str,
               "timings_ms": dict}
CITATION_SCHEMA = {"marker": int, "doc_id": str, "title": str, "text": str, "start": int,
                   "end": int}


def test_rag_ask_json_prints_exactly_one_object_matching_the_schema(
        news_settings, run_rag: RunRag) -> None:  # type: ignore[no-untyped-def]
    env = rag_env(news_settings.indexes_dir, RAG_GENERATOR="extractive")
    result = run_rag("ask", "--json", MEDINSKY_Q, env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)  # the whole of stdout is one JSON document
    assert isinstance(data, dict)
    for key, kind in JSON_SCHEMA.items():
        assert isinstance(data[key], kind), key
    assert data["citations"]
    for citation in data["citations"]:
        for key, kind in CITATION_SCHEMA.items():
            assert isinstance(citation[key], kind), key
        assert citation["source"] is None or isinstance(citation["source"], str)
        assert citation["start"] < citation["end"]
    assert all(isinstance(v, int | float) for v in data["timings_ms"].values())
    unanswerable = json.loads(run_rag("ask", "--json", UNANSWERABLE[0], env=env).stdout)
    assert unanswerable["abstained"] is True and unanswerable["citations"] == []


def test_cli_errors_are_specific_with_exit_codes(news_settings, run_rag: RunRag) -> None:  # type: ignore[no-untyped-def]
    env = rag_env(news_settings.indexes_dir, RAG_GENERATOR="extractive")
    empty = run_rag("ask", "", env=env)
    assert empty.returncode == 2 and "question is empty" in empty.stderr
    missing = run_rag("ask", "x", "--index", "nope", env=env)
    assert missing.returncode == 3 and "not found" in missing.stderr
    bad_date = run_rag("ask", "x", "--date-from", "yesterday", env=env)
    assert bad_date.returncode == 2 and "date-from" in bad_date.stderr
    bad_setting = run_rag("ask", "x", env={**env, "RAG_TOP_K": "zero"})
    assert bad_setting.returncode == 2 and "RAG_TOP_K" in bad_setting.stderr


def test_rag_chat_keeps_the_conversation(news_settings, run_rag: RunRag) -> None:  # type: ignore[no-untyped-def]
    env = rag_env(news_settings.indexes_dir, RAG_GENERATOR="extractive")
    script = f"{MEDINSKY_Q}\nand who headed the other delegation?\n/reset\n/quit\n"
    proc = subprocess.run([sys.executable, "-m", "service.cli.main", "chat"], input=script,
                          env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    first, second = proc.stdout.split("rag> ")[1:3]
    assert "Medinsky" in first and "Sources:" in first
    assert "Umerov" in second
    assert "(conversation cleared)" in proc.stdout


def test_rag_ask_says_when_the_answer_is_a_second_one() -> None:
    from service.cli.ask_cmd import render
    from service.generation.prompts import prompt
    from tests.test_slack_parts import answer, citation

    label = prompt("revised_label")
    assert label in render(answer("Medinsky headed it [1].", [citation(1)], revised=True))
    assert label not in render(answer("Medinsky headed it [1].", [citation(1)]))


def test_quoted_table_rows_stay_separate_claims() -> None:
    """A spreadsheet row ends without a full stop: quoted, it must not run on into the
    next quote's lead-in (one 'sentence' over two sources was contradicted by both)."""
    from service.generation.citations import claim_spans
    from service.generation.extractive import extractive_answer
    from service.records import Passage

    rows = ["Invoice: INV-0417 | Milestone: M3 | Status: on hold",
            "Invoice: INV-0233 | Milestone: M2 | Status: paid on 2025-07-29"]
    passages = [Passage(chunk_id=f"c{i}", doc_id=f"d{i}.csv", title=f"sheet {i}", source=None,
                        text=row, start=0, end=len(row), score=1.0, rank=i)
                for i, row in enumerate(rows, start=1)]
    text = extractive_answer("Which invoice is on hold, and which was paid?", passages,
                             lambda _term: 1.0, max_sentences=3, min_coverage=0.1)
    assert text is not None
    claims = [text[a:b] for a, b in claim_spans(text)]
    assert len(claims) == 2 and all(c.count("According to") == 1 for c in claims), claims
