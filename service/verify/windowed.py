"""What every windowed support judge shares: cut each cited text into windows, score every
(claim, window) pair in one batch, and read a claim's verdict from its best window.

A judge subclasses `WindowedJudge` with two methods: `cut` (its windows) and
`probabilities` (P(supported), P(contradicted), P(not_found) per pair). The support head
(support_model.py) reads two-sentence windows through frozen features; the cross-encoder
(cross_encoder.py) reads longer windows together with the claim. A claim's support is its
best window's P(supported); its verdict:
- supported: P(supported) >= threshold;
- contradicted: otherwise, when some window's largest class is "contradicted" with
  P >= CONTRADICTION_FLOOR;
- not_found: otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from service.verify.table import Cell, Evidence, SupportTable, Verdict
from service.verify.windows import Window, windows, with_title

CONTRADICTION_FLOOR = 0.5
#: Which of a (claim, evidence) cell's windows to read: (claim, evidence, windows) -> some.
Pick = Callable[[int, int, list[Window]], list[Window]]


@dataclass(frozen=True)
class _Pair:
    claim: int
    evidence: int
    window: Window


def ensure_cited(table: SupportTable, n_evidence: int,
                 cited: Sequence[Sequence[int]] | None) -> SupportTable:
    """Score the cited cells of a fresh table in one batch (all cells if `cited` is None)."""
    rows = len(table.cells)
    numbers = cited if cited is not None else [range(1, n_evidence + 1)] * rows
    table.ensure([(c, n - 1) for c, ns in enumerate(numbers) for n in ns
                  if 1 <= n <= n_evidence])
    return table


class WindowedJudge:
    name: str
    threshold: float

    def cut(self, text: str) -> list[Window]:
        """The windows a cited text is read in."""
        return windows(text)

    def probabilities(self, pairs: Sequence[tuple[str, str]],
                      probes: Sequence[str] | None = None,
                      titles: Sequence[str | None] | None = None) -> np.ndarray:
        """[n, 3] P(supported, contradicted, not_found) for (claim, window) pairs.
        `probes`: the text read for each claim (the claim with its question), if not it;
        `titles`: the title each window is shown under, if any (it leads the window)."""
        raise NotImplementedError

    def table(self, claims: Sequence[str], evidence: Sequence[Evidence],
              questions: Sequence[str | None] | None = None,
              cited: Sequence[Sequence[int]] | None = None) -> SupportTable:
        """Claims against evidence texts. `cited`: per claim, the evidence numbers (from
        1) to score now, in one batch (default: all); the rest are scored when read."""
        asked = list(questions or [None] * len(claims))
        cut: dict[int, list[Window]] = {}
        table = SupportTable(lambda cells: self.cells(claims, evidence, asked, cells, cut),
                             len(claims), len(evidence), self.threshold)
        return ensure_cited(table, len(evidence), cited)

    def cells(self, claims: Sequence[str], evidence: Sequence[Evidence],
              asked: Sequence[str | None], wanted: list[tuple[int, int]],
              cut: dict[int, list[Window]], pick: Pick | None = None
              ) -> dict[tuple[int, int], Cell]:
        """The (claim, evidence index from 0) cells in `wanted`, their windows in one
        batch; `cut` keeps each evidence text's windows between calls; `pick` chooses
        which of a cell's windows to read (default: all)."""
        pairs = []
        for c, e in wanted:
            if e not in cut:
                cut[e] = self.cut(evidence[e].text)
            pairs += [_Pair(c, e, w) for w in (pick(c, e, cut[e]) if pick else cut[e])]
        probs = self.probabilities(
            [(claims[p.claim], with_title(evidence[p.evidence].title, p.window.text))
             for p in pairs],
            [f"{asked[p.claim]} {claims[p.claim]}" if asked[p.claim] else claims[p.claim]
             for p in pairs],
            [evidence[p.evidence].title for p in pairs])
        grouped: dict[tuple[int, int], list[int]] = {}
        for i, p in enumerate(pairs):
            grouped.setdefault((p.claim, p.evidence), []).append(i)
        return {key: self._cell(rows, pairs, probs) for key, rows in grouped.items()}

    def _cell(self, rows: list[int], pairs: list[_Pair], probs: np.ndarray) -> Cell:
        best = max(rows, key=lambda i: probs[i, 0])
        contra = max(rows, key=lambda i: probs[i, 1])
        contradicted = bool(probs[contra, 1] >= CONTRADICTION_FLOOR
                            and probs[contra].argmax() == 1)
        shown = pairs[contra if contradicted and probs[best, 0] < self.threshold else best]
        return Cell(round(float(probs[best, 0]), 4), round(float(probs[contra, 1]), 4),
                    contradicted, shown.window.start, shown.window.end)

    def score(self, claim: str, evidence: str, question: str | None = None) -> float:
        """Judge protocol: P(supported) of the evidence's best window."""
        return self.table([claim], [Evidence(evidence)], [question]).score(0, [1])

    def verdict(self, claim: str, evidence: str, question: str | None = None) -> Verdict:
        return self.table([claim], [Evidence(evidence)], [question]).verdict(0, [1])
