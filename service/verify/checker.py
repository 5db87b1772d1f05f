"""The fast support checker: does this evidence support this claim? No LLM, ~ms per claim.

Hard constraints first — every number, and every name (capitalised word inside the
sentence) of the claim must occur in the evidence: a wrong figure or a swapped person
is the commonest unsupported claim and word overlap alone misses it. Then a score:
0.6 x share of the claim's content words found in the evidence + 0.4 x cosine between
the claim and its closest evidence sentence (MiniLM, the bundled embedder).
Satisfies the evaluation `Judge` protocol, so `rag eval calibrate --judge fast`
measures it on HaluEval like the others.
"""

from __future__ import annotations

import re

import numpy as np

from service.embed import Embedder
from service.generation.citations import lexical_support
from service.index.terms import content_terms, stopwords
from service.ingest.chunk import split_sentences
from service.verify.judge import numbers_agree

_NAME = re.compile(r"\b([A-Z][a-z]+(?:[-’'][A-Za-z]+)?)\b")
# Capitalised words that are not names (sentence openers, pronouns, answers).
_NOT_NAMES = frozenset({
    "according", "yes", "no", "however", "also", "meanwhile", "then", "there", "here",
    "both", "all", "some", "most", "many", "several", "each", "other", "such", "instead",
})
LEXICAL_WEIGHT = 0.6


def names_in(text: str) -> set[str]:
    words = {m.group(1).removesuffix("’s").removesuffix("'s") for m in _NAME.finditer(text)}
    return {w for w in words if w.lower() not in _NOT_NAMES and w.lower() not in stopwords()}


def names_agree(claim: str, evidence: str) -> bool:
    lowered = evidence.lower()
    return all(name.lower() in lowered for name in names_in(claim))


class FastChecker:
    name = "fast"

    def __init__(self, embedder: Embedder, threshold: float = 0.6) -> None:
        self._embedder = embedder
        self.threshold = threshold
        self._cache: dict[str, np.ndarray] = {}

    def _vectors(self, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            for text, vector in zip(missing, self._embedder.embed(missing), strict=True):
                self._cache[text] = vector
        if len(self._cache) > 4096:  # bounded: passages change with every question
            self._cache = {t: self._cache[t] for t in texts}
        return np.stack([self._cache[t] for t in texts])

    def score(self, claim: str, evidence: str, question: str | None = None) -> float:
        if not content_terms(claim):
            return 1.0  # nothing factual to check
        if not (numbers_agree(claim, evidence) and names_agree(claim, evidence)):
            return 0.0
        lexical = lexical_support(claim, evidence)
        sentences = [evidence[s:e] for s, e in split_sentences(evidence)] or [evidence]
        probe = f"{question} {claim}" if question else claim
        vectors = self._vectors([probe, *sentences])
        cosine = float(np.max(vectors[1:] @ vectors[0]))
        return LEXICAL_WEIGHT * lexical + (1 - LEXICAL_WEIGHT) * max(cosine, 0.0)
