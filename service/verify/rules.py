"""Hard rules over a judge's probabilities: checks of names, numbers, dates and words that
a model can miss, each measured to help (docs/benchmarks.md, "Verifier").

`apply_hard_rules` rewrites P(supported, contradicted, not_found) rows in place:
- a claim found word for word in the window is supported, whatever it says;
- a claim naming another month or weekday than the sentence it restates is contradicted;
- a claim sharing none of its (two or more) content words with the window is not found;
- a claim naming people or places of which the window holds none is not supported (a
  model trained partly on HaluEval answers, whose names the knowledge need not hold,
  scored "Putin visited Paris last week" 0.4 against a passage about Istanbul).
`conflict` says whether the surface checks show a conflict, not an absence: a number
the window has another of, a flipped polarity, two names in each other's place, a name
where one of the aligned sentence's own names stands.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from service.verify.support_features import (
    CONFLICT_SURFACE,
    calendar_conflict,
    content_words,
    names,
    surface,
)

_WORDS = re.compile(r"\w+")


def plain(text: str) -> str:
    return " ".join(_WORDS.findall(text.lower()))


def names_absent(claim: str, window: str) -> bool:
    """The claim names people or places and the window (with its title) holds none."""
    named, lowered = names(claim), window.lower()
    return bool(named) and not any(n in lowered for n in named)


def words_absent(claim: str, window: str) -> bool:
    """Not one of the claim's (two or more) content words is in the window."""
    words = content_words(claim)
    return len(words) >= 2 and not words & content_words(window)


def conflict(claim: str, window: str, title: str | None = None) -> bool:
    checks = surface(claim, window, title)
    return any(checks[i] > 0 for i in CONFLICT_SURFACE)


def apply_hard_rules(probs: np.ndarray, pairs: Sequence[tuple[str, str]]) -> np.ndarray:
    for i, (claim, window) in enumerate(pairs):
        if plain(claim) in plain(window):
            probs[i] = (1.0, 0.0, 0.0)
        elif calendar_conflict(claim, window):
            probs[i] = (0.0, 1.0, 0.0)
        elif words_absent(claim, window):
            probs[i] = (0.0, 0.0, 1.0)
        elif names_absent(claim, window):  # contradicted (a swapped name) or not found
            probs[i, 0] = 0.0
            probs[i] /= max(float(probs[i].sum()), 1e-9)
    return probs
