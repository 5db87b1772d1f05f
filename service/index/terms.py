"""Content words, stemmed: the shared vocabulary of BM25, sentence focus and support checks."""

from __future__ import annotations

import functools
import re

_WORD = re.compile(r"(?u)\b\w\w+\b")


@functools.cache
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


@functools.cache
def stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    # Question words carry no content; answers rarely repeat them.
    return frozenset(STOPWORDS_EN) | {"who", "what", "when", "where", "which", "why", "how",
                                      "whom", "whose", "did", "does", "do", "said", "say"}


def content_terms(text: str) -> list[str]:
    words = [w for w in _WORD.findall(text.lower()) if w not in stopwords()]
    return _stemmer().stemWords(words)
