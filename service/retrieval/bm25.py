"""BM25 over an index's live chunks (bm25s, English stemming and stop words)."""

from __future__ import annotations

import logging
import math
from collections import Counter

import bm25s
import numpy as np

from service.retrieval.terms import content_terms

# bm25s logs every index build at DEBUG through its own handler (set up on import).
logging.getLogger("bm25s").setLevel(logging.WARNING)


class BM25Index:
    def __init__(self, texts: list[str]) -> None:
        self._size = len(texts)
        tokenized = [content_terms(t) for t in texts]
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(tok, len(vocab)) for tok in doc] for doc in tokenized]
        self._vocab = vocab
        self._retriever = bm25s.BM25()
        if self._size:
            self._retriever.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab),
                                  show_progress=False)
        df = Counter(tok for doc in tokenized for tok in set(doc))
        # Smoothed IDF, also used to weigh query words in sentence focus and support checks.
        self._idf = {t: math.log(1 + (self._size - n + 0.5) / (n + 0.5)) for t, n in df.items()}
        self._max_idf = math.log(1 + (self._size + 0.5) / 0.5) if self._size else 1.0

    def idf(self, term: str) -> float:
        return self._idf.get(term, self._max_idf)

    def search(self, query: str, k: int, mask: np.ndarray | None = None
               ) -> list[tuple[int, float]]:
        """(chunk position, score) best first; positions outside `mask` never appear."""
        terms = [t for t in content_terms(query) if t in self._vocab]
        if not terms or not self._size:
            return []
        k = min(k, self._size)
        query_ids = [[self._vocab[t] for t in terms]]
        weight_mask = mask.astype(np.float32) if mask is not None else None
        docs, scores = self._retriever.retrieve(query_ids, k=k, show_progress=False,
                                                n_threads=1, weight_mask=weight_mask)
        return [(int(d), float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]
