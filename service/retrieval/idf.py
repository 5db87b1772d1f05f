"""Inverse document frequency over an index, read from its keyword index on demand.

BM25's smoothed IDF, log(1 + (N - n + 0.5) / (n + 0.5)) for a word in n of N chunks;
a word in no chunk weighs the most. It weighs the question's words in sentence focus
and coverage, and the passages' words in the extractive answer and support checks.
The frequencies come from the engine a batch at a time (`prefetch`), not from a
corpus-sized table in memory; a retriever keeps the recently used ones.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable

#: Reads document frequencies of content words (absent: in no chunk).
FrequencyLookup = Callable[[Iterable[str]], dict[str, int]]


class FrequencyCache:
    """Recently used document frequencies of one index generation, bounded."""

    def __init__(self, size: int = 200_000) -> None:
        self._size = size
        self._generation = -1
        self._known: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, generation: int, words: Iterable[str], lookup: FrequencyLookup
            ) -> dict[str, int]:
        wanted = list(dict.fromkeys(words))
        with self._lock:
            if generation != self._generation:
                self._known.clear()
                self._generation = generation
            found = {w: self._known[w] for w in wanted if w in self._known}
        missing = [w for w in wanted if w not in found]
        if missing:
            fetched = lookup(missing)
            fresh = {w: fetched.get(w, 0) for w in missing}
            found.update(fresh)
            with self._lock:
                if generation == self._generation:
                    self._known.update(fresh)
                    while len(self._known) > self._size:
                        self._known.popitem(last=False)
        return found


class Idf:
    """idf(word) for one answer: frequencies prefetched in batches, looked up on a miss."""

    def __init__(self, total: int, generation: int, cache: FrequencyCache,
                 lookup: FrequencyLookup) -> None:
        self.total = total
        self._generation = generation
        self._cache = cache
        self._lookup = lookup
        self._df: dict[str, int] = {}
        self._max = math.log(1 + (total + 0.5) / 0.5) if total else 1.0

    def prefetch(self, words: Iterable[str]) -> None:
        todo = [w for w in dict.fromkeys(words) if w not in self._df]
        if todo:
            self._df.update(self._cache.get(self._generation, todo, self._lookup))

    def __call__(self, word: str) -> float:
        if word not in self._df:
            self.prefetch([word])
        n = self._df[word]
        if n <= 0 or not self.total:
            return self._max
        n = min(n, self.total)
        return math.log(1 + (self.total - n + 0.5) / (n + 0.5))
