"""Support judges: does this evidence support this claim? A score in [0, 1] and a threshold.

The protocol every judge satisfies (the answer-time checker, the evaluation judges), and
the simplest one, `LexicalJudge`: no model, the share of the claim's content words found
in the evidence, with every number of the claim required to appear in it (a wrong
figure is the commonest unsupported claim).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from service.generation.citations import lexical_support
from service.verify.table import Evidence, SupportTable

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


class Judge(Protocol):
    name: str
    threshold: float

    def score(self, claim: str, evidence: str, question: str | None = None) -> float:
        """Support of `claim` by `evidence`, in [0, 1]; `question` is context for a short
        answer ("Arthur's Magazine") that is no sentence on its own."""
        ...


@runtime_checkable
class BatchJudge(Protocol):
    """A judge that scores every claim of an answer against its cited evidence in one
    batch, with verdicts and evidence spans (the support model)."""

    def table(self, claims: Sequence[str], evidence: Sequence[Evidence],
              questions: Sequence[str | None] | None = None,
              cited: Sequence[Sequence[int]] | None = None) -> SupportTable:
        ...


@runtime_checkable
class Warmable(Protocol):
    """A judge that can prepare for an index's texts before the first question."""

    def warm(self, texts: Iterable[str]) -> int:
        """Work done ahead for these texts (chunks, titles); returns how many units."""
        ...


def numbers_agree(claim: str, evidence: str) -> bool:
    def normalise(text: str) -> set[str]:
        return {n.replace(",", "") for n in _NUMBER.findall(text)}

    return normalise(claim) <= normalise(evidence)


class LexicalJudge:
    name = "lexical"

    def __init__(self, threshold: float = 0.6) -> None:
        self.threshold = threshold

    def score(self, claim: str, evidence: str, question: str | None = None) -> float:
        if not numbers_agree(claim, evidence):
            return 0.0
        return lexical_support(claim, evidence)
