"""A batch of support verdicts: claims x cited evidence texts, filled by a judge that
scores many pairs at once (the support model), read by the verifier.

No model code here, so the verifier depends on the shape of the results, not on the
judge that produced them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["supported", "contradicted", "not_found"]


@dataclass(frozen=True)
class Evidence:
    """One cited text: windows are cut from `text`; offsets are relative to it."""

    text: str
    title: str | None = None


@dataclass(frozen=True)
class Cell:
    """A claim against one evidence text: its best window."""

    score: float  # P(supported) of the best window
    p_contradicted: float  # the largest P(contradicted) among its windows
    contradicted: bool  # some window's largest class is "contradicted", P >= floor
    start: int  # the window to show (best, or the contradicting one), offsets in the text
    end: int


class SupportTable:
    """Claims x evidence texts; evidence numbered from 1 (passage markers). Cells asked
    for up front are scored in one batch; any other is scored when first read (the
    re-citing of an unsupported claim), so a supported answer never pays for passages
    it does not cite."""

    def __init__(self, fill: Callable[[list[tuple[int, int]]], dict[tuple[int, int], Cell]],
                 claims: int, evidence: int, threshold: float) -> None:
        self._fill = fill
        self.cells: list[list[Cell | None]] = [[None] * evidence for _ in range(claims)]
        self.threshold = threshold

    def ensure(self, wanted: Sequence[tuple[int, int]]) -> None:
        """Score the (claim, evidence index from 0) cells not scored yet, in one batch."""
        missing = list(dict.fromkeys((c, e) for c, e in wanted if self.cells[c][e] is None))
        for (c, e), cell in self._fill(missing).items() if missing else ():
            self.cells[c][e] = cell

    def _row(self, claim: int, numbers: Sequence[int]) -> list[tuple[int, Cell]]:
        row = self.cells[claim]
        valid = [n for n in numbers if 1 <= n <= len(row)]
        self.ensure([(claim, n - 1) for n in valid])
        return [(n, c) for n in valid if (c := row[n - 1]) is not None]

    def score(self, claim: int, numbers: Sequence[int]) -> float:
        return max((c.score for _, c in self._row(claim, numbers)), default=0.0)

    def verdict(self, claim: int, numbers: Sequence[int]) -> Verdict:
        cells = self._row(claim, numbers)
        if any(c.score >= self.threshold for _, c in cells):
            return "supported"
        return "contradicted" if any(c.contradicted for _, c in cells) else "not_found"

    def spans(self, claim: int, numbers: Sequence[int]) -> list[tuple[int, int, int]]:
        """(evidence number, start, end) of the windows behind the verdict."""
        verdict = self.verdict(claim, numbers)
        cells = self._row(claim, numbers)
        if verdict == "supported":
            keep = [(n, c) for n, c in cells if c.score >= self.threshold]
        elif verdict == "contradicted":
            keep = [(n, c) for n, c in cells if c.contradicted]
        else:
            keep = []
        return [(n, c.start, c.end) for n, c in keep]


