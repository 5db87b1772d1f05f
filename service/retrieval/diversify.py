"""Passages for a side-by-side answer: each source's best passages, grouped by source.

Plain top-k retrieval often returns five windows of one article; an answer that sets out
each source's account needs the best passages of every source that addresses the
question. Sources are taken round-robin (every source's best passage before any
source's second), so a source with one relevant passage is not crowded out.
"""

from __future__ import annotations

from collections.abc import Callable

from service.index.terms import content_terms
from service.records import Passage
from service.retrieval.windows import weighted_overlap


def by_source(passages: list[Passage], question: str, idf: Callable[[str], float],
              limit: int, per_source: int, min_overlap: float) -> list[Passage]:
    """At most `limit` passages, at most `per_source` per source (`Passage.label`), each
    holding at least `min_overlap` of the question's weighted words; grouped by source in
    order of each source's best passage, and re-ranked 1..n in that order."""
    query = set(content_terms(question))
    groups: dict[str, list[Passage]] = {}
    for passage in sorted(passages, key=lambda p: p.rank):
        if weighted_overlap(query, passage.text, idf) >= min_overlap:
            groups.setdefault(passage.label, []).append(passage)
    chosen: dict[str, list[Passage]] = {label: [] for label in groups}
    taken = 0
    for depth in range(per_source):
        for label, members in groups.items():
            if taken < limit and depth < len(members):
                chosen[label].append(members[depth])
                taken += 1
    ordered = [p for members in chosen.values() for p in members]
    return [p.model_copy(update={"rank": i}) for i, p in enumerate(ordered, start=1)]
