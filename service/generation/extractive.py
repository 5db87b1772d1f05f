"""The extractive generator: no LLM. Quotes the source sentences that best match the
question, each attributed and cited. Deterministic, fast, and faithful by construction;
it abstains when no sentence holds enough of the question."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from service.generation.prompts import prompt
from service.ingest.chunk import split_sentences
from service.records import Passage
from service.retrieval.terms import content_terms
from service.retrieval.windows import match_score, weighted_overlap


@dataclass
class ExtractiveDraft:
    """Answer text with passage-numbered markers, or None when nothing qualifies."""

    text: str | None
    best_coverage: float


def extractive_answer(question: str, passages: list[Passage], idf: Callable[[str], float],
                      max_sentences: int, min_coverage: float,
                      only: set[int] | None = None) -> ExtractiveDraft:
    """Markers are numbers in `passages`; `only` limits quoting to those passage numbers."""
    query = content_terms(question)
    candidates: list[tuple[float, float, int, str]] = []
    for number, passage in enumerate(passages, start=1):
        if only is not None and number not in only:
            continue
        for start, end in split_sentences(passage.text):
            sentence = passage.text[start:end].strip()
            if len(content_terms(sentence)) < 3:
                continue  # headings and fragments are no answers
            coverage = weighted_overlap(set(query), sentence, idf)
            score = match_score(query, sentence, idf) - 0.01 * passage.rank
            candidates.append((score, coverage, number, sentence))
    candidates.sort(key=lambda c: c[0], reverse=True)
    best_coverage = max((c[1] for c in candidates), default=0.0)
    chosen: list[tuple[float, float, int, str]] = []
    for cand in candidates:
        if len(chosen) >= max_sentences:
            break
        if cand[1] < min_coverage or (chosen and cand[0] < 0.6 * chosen[0][0]):
            break
        if any(cand[3] == c[3] for c in chosen):
            continue
        chosen.append(cand)
    if not chosen:
        return ExtractiveDraft(text=None, best_coverage=best_coverage)
    lines = [
        prompt("extractive_sentence", label=passages[number - 1].label, sentence=sentence,
               marker=number)
        for _, _, number, sentence in chosen
    ]
    return ExtractiveDraft(text=" ".join(lines), best_coverage=best_coverage)
