"""Hybrid retrieval on the real news index: ranking, filters, sentence windows, on each
retrieval backend (the `backend` fixtures: embedded Chroma + FTS5, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from service.index.config import load_index_config
from service.ingest.pipeline import ingest
from service.records import Filters
from service.retrieval.fusion import reciprocal_rank_fusion
from service.retrieval.retriever import Retriever
from tests.conftest import Backend, build_news, make_settings, write_index


@pytest.fixture(scope="module")
def news_retriever(module_backend: Backend, request: pytest.FixtureRequest,
                   tmp_path_factory: pytest.TempPathFactory) -> Retriever:
    if module_backend.name == "chroma":
        settings = request.getfixturevalue("news_settings")
    else:
        settings = build_news(tmp_path_factory, module_backend)
    return Retriever(load_index_config(settings, "news"), settings)


def test_rrf_rewards_agreement_between_rankings() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["b", "a", "d"]], k=60))
    assert fused["a"] == fused["b"] > fused["c"] == fused["d"]
    assert reciprocal_rank_fusion([[], []]) == []


@pytest.mark.parametrize("question,must_contain", [
    ("Who headed the Russian delegation at the Istanbul talks?", "Medinsky"),
    ("How many drones did Russian air defense shoot down from May 20 to May 27?", "2,500"),
    ("What did Olaf Scholz call the decision to stop attacks on energy infrastructure?",
     "good start"),
    ("How much military aid did Ukraine receive according to the Kiel Institute?",
     "145 billion euros"),
    ("Who said Putin has triumphed over everyone?", "Olga Skabeeva"),
])
def test_answer_bearing_passage_is_retrieved(news_retriever: Retriever, question: str,
                                             must_contain: str) -> None:
    result = news_retriever.retrieve(question)
    assert any(must_contain in p.text for p in result.passages[:3]), [
        p.text[:80] for p in result.passages]


def test_passages_are_sentence_windows_with_exact_offsets(news_retriever: Retriever) -> None:
    result = news_retriever.retrieve("Who headed the Russian delegation at the Istanbul talks?")
    docs = news_retriever.store.documents({p.doc_id for p in result.passages},
                                          news_retriever.manifest().generation)
    assert [p.rank for p in result.passages] == list(range(1, len(result.passages) + 1))
    for p in result.passages:
        doc = docs[p.doc_id]
        assert doc.text[p.start : p.end] == p.text
        assert p.start in {s for s, _ in doc.sentences}  # starts on a sentence
        assert p.dense_rank is not None or p.bm25_rank is not None
    scores = [p.score for p in result.passages]
    assert scores == sorted(scores, reverse=True)
    # Windows of one document never overlap.
    spans: dict[str, list[tuple[int, int]]] = {}
    for p in result.passages:
        assert all(p.end <= s or e <= p.start for s, e in spans.get(p.doc_id, []))
        spans.setdefault(p.doc_id, []).append((p.start, p.end))


def test_unrelated_question_has_low_coverage(news_retriever: Retriever) -> None:
    assert news_retriever.retrieve("What is the capital of Australia?").coverage < 0.2
    assert news_retriever.retrieve("Who headed the Russian delegation?").coverage > 0.6


def test_document_and_source_filters_restrict_both_retrievers(
        news_retriever: Retriever) -> None:
    q = "Who headed the Russian delegation at the Istanbul talks?"
    only = news_retriever.retrieve(q, Filters(doc_ids=["002.txt"]))
    assert only.passages and {p.doc_id for p in only.passages} == {"002.txt"}
    izv = news_retriever.retrieve(q, Filters(sources=["Izvestia"]))
    assert izv.passages and {p.source for p in izv.passages} == {"Izvestia"}
    none = news_retriever.retrieve(q, Filters(sources=["No Such Outlet"]))
    assert none.passages == []


def test_date_range_filter(indexes_dir: Path, backend: Backend) -> None:
    directory = write_index(indexes_dir, "dated", {
        f"d{m}.txt": f"Talks report\n\nThe ceasefire talks in month {m} made progress on "
                     f"prisoner exchanges and energy strikes." for m in (1, 3, 6)})
    for m in (1, 3, 6):
        (directory / "docs" / f"d{m}.txt.meta.toml").write_text(f"date = 2025-{m:02d}-15\n")
    (directory / "docs" / "undated.txt").write_text(
        "Undated\n\nThe ceasefire talks made progress on prisoner exchanges.")
    settings = make_settings(indexes_dir, **backend.fields)
    config = load_index_config(settings, "dated")
    ingest(config, settings, show_progress=False)
    retriever = Retriever(config, settings)
    q = "ceasefire talks prisoner exchanges"
    assert {p.doc_id for p in retriever.retrieve(q).passages} == {
        "d1.txt", "d3.txt", "d6.txt", "undated.txt"}
    window = Filters(date_from=dt.date(2025, 2, 1), date_to=dt.date(2025, 6, 30))
    assert {p.doc_id for p in retriever.retrieve(q, window).passages} == {"d3.txt", "d6.txt"}
    with pytest.raises(ValueError):
        Filters(date_from=dt.date(2025, 6, 1), date_to=dt.date(2025, 1, 1))


def test_a_committed_update_is_seen_by_an_open_retriever(indexes_dir: Path,
                                                         backend: Backend) -> None:
    directory = write_index(indexes_dir, "live", {"a.txt": "Alpha\n\nThe envoy met in Rome."})
    settings = make_settings(indexes_dir, **backend.fields)
    config = load_index_config(settings, "live")
    ingest(config, settings, show_progress=False)
    retriever = Retriever(config, settings)
    assert retriever.retrieve("Where did the envoy meet?").passages[0].text.endswith("Rome.")
    (directory / "docs" / "a.txt").write_text("Alpha\n\nThe envoy met in Vienna instead.")
    ingest(config, settings, show_progress=False)
    assert "Vienna" in retriever.retrieve("Where did the envoy meet?").passages[0].text
    (directory / "docs" / "a.txt").unlink()
    (directory / "docs" / "b.txt").write_text("Beta\n\nThe envoy then flew to Oslo.")
    ingest(config, settings, show_progress=False)
    assert {p.doc_id for p in retriever.retrieve("Where did the envoy meet?").passages} == {
        "b.txt"}


def test_the_keyword_channel_matches_the_rarest_words_within_its_budget(
        indexes_dir: Path, backend: Backend) -> None:
    """RAG_KEYWORD_MATCH_BUDGET caps the chunks the keyword channel matches: the rare
    word is matched, the word found in every chunk only once the budget allows it."""
    docs = {f"c{i:03d}.txt": f"Note {i}\n\nThe committee reviewed item {i}." for i in range(120)}
    docs["rare.txt"] = "Odd note\n\nThe committee reviewed the zeppelin."
    write_index(indexes_dir, "budget", docs)
    vector = np.zeros(384, dtype=np.float32)
    vector[0] = 1.0
    found = {}
    for budget in (100, 1000):
        settings = make_settings(indexes_dir, keyword_match_budget=budget, **backend.fields)
        config = load_index_config(settings, "budget")
        ingest(config, settings, show_progress=False)
        store = Retriever(config, settings).store
        gen = store.require_manifest().generation
        found[budget] = store.search(vector, ["committe", "zeppelin"], 50, gen)
    rare = [cid for cid, c in found[100].chunks.items() if c.doc_id == "rare.txt"]
    assert found[100].keyword == rare and len(rare) == 1
    assert found[1000].keyword[0] == rare[0] and len(found[1000].keyword) == 50
