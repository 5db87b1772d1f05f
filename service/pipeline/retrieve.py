"""Stage 2, retrieve: the strategy's passages for the query, and whether they hold
enough of the question to attempt an answer at all (else the pipeline abstains
without calling a generator)."""

from __future__ import annotations

from service.generation.strategy import AnswerStrategy
from service.records import Filters
from service.retrieval.retriever import RetrievalResult, Retriever


class RetrieveStage:
    def __init__(self, min_support: float) -> None:
        self._min_support = min_support

    def run(self, retriever: Retriever, query: str, filters: Filters | None,
            strategy: AnswerStrategy) -> RetrievalResult:
        return strategy.retrieve(retriever, query, filters)

    def answerable(self, retrieval: RetrievalResult) -> bool:
        return bool(retrieval.passages) and retrieval.coverage >= self._min_support
