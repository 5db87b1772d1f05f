"""Support judges: does this evidence support this claim? A score in [0, 1] and a threshold.

The protocol every judge satisfies (the answer-time checker, the evaluation judges), and
the simplest one, `LexicalJudge`: no model, the share of the claim's content words found
in the evidence, with every number of the claim required to appear in it (a wrong
figure is the commonest unsupported claim).
"""

from __future__ import annotations

import re
from typing import Protocol

from service.generation.citations import lexical_support

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


class Judge(Protocol):
    name: str
    threshold: float

    def score(self, claim: str, evidence: str, question: str | None = None) -> float:
        """Support of `claim` by `evidence`, in [0, 1]; `question` is context for a short
        answer ("Arthur's Magazine") that is no sentence on its own."""
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
