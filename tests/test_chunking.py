"""Sentence-aware, token-sized chunks with exact offsets into the cleaned text."""

from __future__ import annotations

import itertools

import pytest

from service.embed.minilm import MiniLMEmbedder
from service.ingest.chunk import chunk_document, split_sentences, token_counter
from service.ingest.clean import clean_text
from tests.conftest import NEWS_DOCS


@pytest.fixture(scope="module")
def news_texts() -> dict[str, str]:
    return {p.name: clean_text(p.read_text(encoding="utf-8")).text
            for p in sorted(NEWS_DOCS.glob("*.txt"))}


def test_chunk_offsets_point_at_the_chunk_text(news_texts: dict[str, str]) -> None:
    for name, text in news_texts.items():
        chunks = chunk_document(name, text, split_sentences(text), 180, 30)
        assert chunks, name
        for chunk in chunks:
            assert text[chunk.start : chunk.end] == chunk.text


def test_chunks_respect_the_token_budget_and_overlap(news_texts: dict[str, str]) -> None:
    count = token_counter()
    text = news_texts["000.txt"]
    sentences = split_sentences(text)
    chunks = chunk_document("d", text, sentences, 120, 30)
    assert all(count(c.text) <= 120 for c in chunks)
    # Consecutive chunks move forward and leave no text out between them.
    for a, b in itertools.pairwise(chunks):
        assert a.start < b.start
        assert b.start <= a.end or not text[a.end : b.start].strip()
    overlaps = [text[b.start : a.end] for a, b in itertools.pairwise(chunks)
                if b.start < a.end]
    assert overlaps, "sentences under 30 tokens exist, so some chunks must overlap"
    assert all(count(o) <= 30 for o in overlaps)
    # Every sentence is in some chunk.
    covered = [any(c.start <= s and e <= c.end for c in chunks) for s, e in sentences]
    assert all(covered)


def test_chunks_end_on_sentence_boundaries(news_texts: dict[str, str]) -> None:
    text = news_texts["002.txt"]
    sentences = split_sentences(text)
    ends = {e for _, e in sentences}
    starts = {s for s, _ in sentences}
    for chunk in chunk_document("d", text, sentences, 150, 20):
        assert chunk.start in starts and chunk.end in ends


def test_a_sentence_longer_than_a_chunk_is_cut_at_words() -> None:
    text = " ".join(f"word{i}" for i in range(400)) + "."
    chunks = chunk_document("d", text, split_sentences(text), 50, 10)
    assert len(chunks) > 1
    assert all(token_counter()(c.text) <= 50 for c in chunks)
    assert all(text[c.start : c.end] == c.text for c in chunks)


def test_news_chunks_fit_the_embedders_window(news_texts: dict[str, str]) -> None:
    """MiniLM reads 256 wordpieces; the default 180-token chunks must fit entirely."""
    embedder = MiniLMEmbedder.shared()
    for name, text in news_texts.items():
        for chunk in chunk_document(name, text, split_sentences(text), 180, 30):
            assert embedder.count_tokens(chunk.text) <= 256, (name, chunk.position)


def test_a_numbering_word_before_a_number_ends_no_sentence() -> None:
    """Contracts number everything: "Contract No. SWK-2025-014", "Art. 4". Split there, a
    document's sentence loses its subject and an answer's lead-in naming the document
    breaks in two (each half then attributed again)."""
    text = ("Amendment No. 1 to Contract No. SWK-2025-014 raises the price. See Art. 4, "
            "e.g. clause 4.1. The Contractor said no. The Employer agreed.")
    assert [text[a:b] for a, b in split_sentences(text)] == [
        "Amendment No. 1 to Contract No. SWK-2025-014 raises the price.",
        "See Art. 4, e.g. clause 4.1.", "The Contractor said no.", "The Employer agreed."]
