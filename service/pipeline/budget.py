"""Between retrieve and generate: the evidence an LLM reads, cut to a token budget.

A local model's answer time is mostly the prompt it reads (~135 prompt tokens/s for the
1.5B on 2 cores, against ~20–40 tokens written), and five whole sentence windows are
~600 tokens of which one or two sentences hold the answer. `PromptBudget` ranks every
sentence of the retrieved windows against the question — the IDF-weighted word and
phrase overlap retrieval already ranks windows by (`match_score`) — and keeps the best
ones, each with its neighbours when they fit, until the budget is spent. Each passage is
narrowed to the span of its kept sentences; a passage with none is left out.

What comes out is still a list of `Passage`s: exact spans of their documents
(`doc.text[start:end] == passage.text`), in retrieval order, carrying their retrieval
rank, so the prompt numbers them 1..n exactly as verification and citations read them.

    budget = PromptBudget()
    given = budget.run(question, retrieval.passages, retrieval.idf, max_tokens=300)

Tokens are counted as `max_passage_tokens` is (tiktoken cl100k, within a few per cent of
the Qwen tokenizer on English text), over the passage blocks as the model reads them
(prompts/passage.md: header line and text). `max_tokens=0` leaves the passages whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.generation.prompts import prompt
from service.index.terms import content_terms
from service.ingest.chunk import split_sentences, token_counter
from service.records import Passage
from service.retrieval.windows import match_score

#: Subtracted per retrieval position, so equal matches prefer the better-ranked passage.
RANK_PENALTY = 0.01


@dataclass(frozen=True)
class _Sentence:
    passage: int  # position in the retrieved passages
    index: int  # position among that passage's sentences
    score: float


@dataclass(frozen=True)
class _Span:
    first: int  # sentence indexes, inclusive
    last: int


class PromptBudget:
    """Keep the question's best sentences (with `neighbours` on each side when they fit)
    within a token budget; see the module docstring."""

    def __init__(self, *, neighbours: int = 1,
                 count_tokens: Callable[[str], int] | None = None) -> None:
        if neighbours < 0:
            raise ValueError("neighbours must be >= 0")
        self._neighbours = neighbours
        self._count = count_tokens or token_counter()

    def run(self, question: str, passages: list[Passage], idf: Callable[[str], float],
            max_tokens: int) -> list[Passage]:
        if max_tokens <= 0 or not passages:
            return passages
        spans = [[(p.start + s, p.start + e) for s, e in split_sentences(p.text)]
                 for p in passages]
        costs = _Costs(passages, spans, self._count)
        kept: dict[int, _Span] = {}
        used = 0
        for sentence in self._ranked(question, passages, spans, idf):
            choices = self._choices(sentence, len(spans[sentence.passage]))
            for span in choices:
                old = kept.get(sentence.passage)
                new = _Span(min(span.first, old.first), max(span.last, old.last)) if old \
                    else span
                cost = costs.of(sentence.passage, new) - (
                    costs.of(sentence.passage, old) if old else 0)
                # The best sentence always goes in, even alone over the budget.
                if used + cost <= max_tokens or (not kept and span == choices[-1]):
                    kept[sentence.passage], used = new, used + cost
                    break
        return [_narrowed(passages[i], spans[i], kept[i]) for i in sorted(kept)]

    def _ranked(self, question: str, passages: list[Passage],
                spans: list[list[tuple[int, int]]],
                idf: Callable[[str], float]) -> list[_Sentence]:
        """Sentences that share words with the question, best first."""
        query = content_terms(question)
        ranked = []
        for i, (passage, sentences) in enumerate(zip(passages, spans, strict=True)):
            for j, (start, end) in enumerate(sentences):
                text = passage.text[start - passage.start : end - passage.start]
                score = match_score(query, text, idf)
                if score > 0:
                    ranked.append(_Sentence(i, j, score - RANK_PENALTY * i))
        return sorted(ranked, key=lambda s: (-s.score, s.passage, s.index))

    def _choices(self, sentence: _Sentence, n_sentences: int) -> list[_Span]:
        """The sentence with its neighbours, else alone."""
        n = self._neighbours
        wide = _Span(max(sentence.index - n, 0), min(sentence.index + n, n_sentences - 1))
        alone = _Span(sentence.index, sentence.index)
        return [wide, alone] if wide != alone else [alone]


class _Costs:
    """Tokens of a passage block (header line + the span's text), memoised."""

    def __init__(self, passages: list[Passage], spans: list[list[tuple[int, int]]],
                 count: Callable[[str], int]) -> None:
        self._passages = passages
        self._spans = spans
        self._count = count
        self._memo: dict[tuple[int, _Span], int] = {}

    def of(self, passage: int, span: _Span) -> int:
        key = (passage, span)
        if key not in self._memo:
            p = self._passages[passage]
            self._memo[key] = self._count(prompt("passage", marker=passage + 1, label=p.label,
                                                 text=_text(p, self._spans[passage], span)))
        return self._memo[key]


def _text(passage: Passage, spans: list[tuple[int, int]], span: _Span) -> str:
    start, end = spans[span.first][0], spans[span.last][1]
    return passage.text[start - passage.start : end - passage.start]


def _narrowed(passage: Passage, spans: list[tuple[int, int]], span: _Span) -> Passage:
    start, end = spans[span.first][0], spans[span.last][1]
    return passage.model_copy(update={
        "text": _text(passage, spans, span), "start": start, "end": end})
