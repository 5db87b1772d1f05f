"""Focus a retrieved chunk to the sentences that matter: the best-matching sentence and
`window` neighbours on each side, capped in tokens. Prompt tokens are latency for a
local model (about 135 prompt tokens/s for the 1.5B on 2 cores), so a passage carries
the answer-bearing sentence with just enough context to read it."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from service.index.terms import content_terms
from service.records import Document

#: Weight of adjacent-word-pair matches against single-word matches in `match_score`.
PAIR_WEIGHT = 0.5


def weighted_overlap(query_terms: set[str], text: str, idf: Callable[[str], float],
                     text_terms: list[str] | None = None) -> float:
    """Share of the query's IDF weight whose terms occur in `text` (0..1)."""
    if not query_terms:
        return 0.0
    present = query_terms & set(text_terms if text_terms is not None else content_terms(text))
    total = sum(idf(t) for t in query_terms)
    return sum(idf(t) for t in present) / total if total else 0.0


def match_score(query_terms: list[str], text: str, idf: Callable[[str], float]) -> float:
    """How well `text` matches the question: IDF-weighted word overlap, plus the share of
    the question's adjacent word pairs that occur adjacent in `text` ("Russian
    delegation" is not "Ukrainian delegation", though both contain "delegation")."""
    text_terms = content_terms(text)
    unigram = weighted_overlap(set(query_terms), text, idf, text_terms)
    query_pairs = set(itertools.pairwise(query_terms))
    if not query_pairs:
        return unigram
    text_pairs = set(itertools.pairwise(text_terms))
    pairs = len(query_pairs & text_pairs) / len(query_pairs)
    return (1 - PAIR_WEIGHT) * unigram + PAIR_WEIGHT * pairs


def focus_window(doc: Document, lo: int, hi: int, query_terms: list[str],
                 idf: Callable[[str], float], window: int, max_tokens: int,
                 count_tokens: Callable[[str], int]) -> tuple[int, int]:
    """Character span [start, end) in doc.text of the focused window for sentences [lo, hi)."""
    sentences = doc.sentences
    scores = [match_score(query_terms, doc.text[s:e], idf) for s, e in sentences[lo:hi]]
    best = lo + max(range(len(scores)), key=lambda i: (scores[i], -i)) if scores else lo
    first, last = max(best - window, 0), min(best + window, len(sentences) - 1)

    def tokens(a: int, b: int) -> int:
        return count_tokens(doc.text[sentences[a][0] : sentences[b][1]])

    while first < last and tokens(first, last) > max_tokens:
        if best - first >= last - best:
            first += 1
        else:
            last -= 1
    start, end = sentences[first][0], sentences[last][1]
    # A single sentence over the cap is cut at a word boundary.
    if tokens(first, last) > max_tokens:
        limit = start + max_tokens * 5
        cut = doc.text.rfind(" ", start, limit)
        end = min(end, cut if cut > start else limit)
    return start, end
