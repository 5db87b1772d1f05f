"""Answer strategies: what kind of answer is asked for, decided in one place.

`PlainAnswer` — one answer from the best passages overall. `PerspectivesAnswer` — each
source's account side by side (perspectives.py): passages are picked per source, the
model is asked for one sentence per source, its extra sentences are trimmed, and a note
says when only one source addresses the question. Generators, verification and
composition ask the strategy instead of branching on a flag.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from service.generation.chat import Message
from service.generation.extractive import extractive_answer
from service.generation.messages import answer_messages, reread_messages
from service.generation.perspectives import (
    extractive_perspectives,
    keep_per_source,
    perspective_messages,
    single_source_note,
)
from service.records import Citation, Filters, Passage
from service.retrieval.diversify import by_source
from service.retrieval.retriever import RetrievalResult, Retriever

Idf = Callable[[str], float]


class AnswerStrategy(Protocol):
    name: str
    #: Whether the model's text can go to the reader as it is written (a perspectives
    #: answer is trimmed and reordered first, so it is sent whole).
    streams: bool
    #: Whether the generator's prompt budget may narrow the passages (a perspectives
    #: answer needs every source's passages, however little they share with the question).
    budgeted: bool

    def retrieve(self, retriever: Retriever, query: str,
                 filters: Filters | None) -> RetrievalResult: ...

    def messages(self, question: str, passages: list[Passage]) -> list[Message]: ...

    def reread(self, question: str, passages: list[Passage]) -> list[Message] | None:
        """The request for a second look after a contradicted answer; None: no second look."""

    def quote(self, question: str, passages: list[Passage], idf: Idf, min_coverage: float,
              only: set[int] | None = None) -> str | None:
        """The extractive answer (passage-numbered markers), None if nothing qualifies."""
        ...

    def trim(self, text: str, passages: list[Passage]) -> str: ...

    def note(self, text: str, citations: list[Citation]) -> str | None:
        """A sentence put before the finished answer, if any."""
        ...


class PlainAnswer:
    name = "plain"
    streams = True
    budgeted = True

    def __init__(self, sentences: int) -> None:
        self._sentences = sentences

    def retrieve(self, retriever: Retriever, query: str,
                 filters: Filters | None) -> RetrievalResult:
        return retriever.retrieve(query, filters)

    def messages(self, question: str, passages: list[Passage]) -> list[Message]:
        return answer_messages(question, passages)

    def reread(self, question: str, passages: list[Passage]) -> list[Message] | None:
        return reread_messages(question, passages)

    def quote(self, question: str, passages: list[Passage], idf: Idf, min_coverage: float,
              only: set[int] | None = None) -> str | None:
        return extractive_answer(question, passages, idf, self._sentences, min_coverage, only)

    def trim(self, text: str, passages: list[Passage]) -> str:
        return text

    def note(self, text: str, citations: list[Citation]) -> str | None:
        return None


class PerspectivesAnswer:
    name = "perspectives"
    streams = False
    budgeted = False
    #: Passages per source given to the model, and its sentences kept per source.
    PASSAGES_PER_SOURCE = 2
    SENTENCES_PER_SOURCE = 2

    def __init__(self, top_k: int, candidate_k: int, min_overlap: float) -> None:
        self._top_k = top_k
        self._candidate_k = candidate_k
        self._min_overlap = min_overlap

    def retrieve(self, retriever: Retriever, query: str,
                 filters: Filters | None) -> RetrievalResult:
        # Every source's best passages, not the overall top k (often one article's).
        wide = retriever.retrieve(query, filters, top_k=self._candidate_k)
        return replace(wide, passages=by_source(
            wide.passages, query, wide.idf, self._top_k, self.PASSAGES_PER_SOURCE,
            self._min_overlap))

    def messages(self, question: str, passages: list[Passage]) -> list[Message]:
        return perspective_messages(question, passages)

    def reread(self, question: str, passages: list[Passage]) -> list[Message] | None:
        return None  # each source's sentence is attributed, not chosen among sides

    def quote(self, question: str, passages: list[Passage], idf: Idf, min_coverage: float,
              only: set[int] | None = None) -> str | None:
        return extractive_perspectives(question, passages, idf, min_coverage, only)

    def trim(self, text: str, passages: list[Passage]) -> str:
        return keep_per_source(text, passages, self.SENTENCES_PER_SOURCE)

    def note(self, text: str, citations: list[Citation]) -> str | None:
        return single_source_note(text, citations)
