"""The extractive generator: no LLM. Quotes the source sentences that best match the
question, each attributed and cited. Deterministic, fast, and faithful by construction;
it abstains when no sentence holds enough of the question."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from service.generation import wording
from service.index.terms import content_terms
from service.ingest.chunk import split_sentences
from service.records import Passage
from service.retrieval.windows import match_score, weighted_overlap

_TERMINATED = re.compile(r"[.!?…][”\"’)]*$")


@dataclass
class Quote:
    """A candidate source sentence: `number` is its passage's 1-based position."""

    score: float
    coverage: float
    number: int
    sentence: str


def best_sentences(question: str, passages: list[Passage], idf: Callable[[str], float],
                   max_sentences: int, min_coverage: float, only: set[int] | None = None,
                   ratio: float = 0.6) -> list[Quote]:
    """The best-matching sentences, each holding at least `min_coverage` of the question's
    weighted words and scoring at least `ratio` x the best."""
    query = content_terms(question)
    candidates: list[Quote] = []
    for number, passage in enumerate(passages, start=1):
        if only is not None and number not in only:
            continue
        for start, end in split_sentences(passage.text):
            sentence = passage.text[start:end].strip()
            if len(content_terms(sentence)) < 3:
                continue  # headings and fragments are no answers
            coverage = weighted_overlap(set(query), sentence, idf)
            score = match_score(query, sentence, idf) - 0.01 * passage.rank
            candidates.append(Quote(score, coverage, number, sentence))
    candidates.sort(key=lambda c: c.score, reverse=True)
    chosen: list[Quote] = []
    for cand in candidates:
        if len(chosen) >= max_sentences:
            break
        if cand.coverage < min_coverage or (chosen and cand.score < ratio * chosen[0].score):
            break
        if any(cand.sentence == c.sentence for c in chosen):
            continue
        chosen.append(cand)
    return chosen


def extractive_answer(question: str, passages: list[Passage], idf: Callable[[str], float],
                      max_sentences: int, min_coverage: float,
                      only: set[int] | None = None) -> str | None:
    """Answer text with passage-numbered markers, or None when no sentence qualifies;
    `only` limits quoting to those passage numbers."""
    chosen = best_sentences(question, passages, idf, max_sentences, min_coverage, only)
    if not chosen:
        return None
    text = ""
    for i, q in enumerate(chosen):
        if i:
            # A quote that ends without a full stop (a table row, a heading) would run on
            # into the next account: sentences are split per line, so start a new one.
            text += " " if _TERMINATED.search(chosen[i - 1].sentence) else "\n"
        text += wording.account("extractive_sentence",
                                wording.passage_label(passages[q.number - 1]), q.sentence,
                                q.number)
    return text
