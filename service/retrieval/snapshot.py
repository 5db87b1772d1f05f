"""An in-memory view of one committed generation: chunk table, documents and BM25."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

import numpy as np

from service.index.store import IndexStore, StoredChunk, date_key
from service.records import Document, Filters
from service.retrieval.bm25 import BM25Index


@dataclass
class Snapshot:
    generation: int
    chunks: list[StoredChunk]
    documents: dict[str, Document]
    bm25: BM25Index
    position: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.position = {c.chunk_id: i for i, c in enumerate(self.chunks)}

    @classmethod
    def load(cls, store: IndexStore, generation: int) -> Snapshot:
        chunks = store.live_chunks(generation)
        documents = {d.doc_id: d for d in store.live_documents(generation)}
        return cls(generation=generation, chunks=chunks, documents=documents,
                   bm25=BM25Index([c.text for c in chunks]))

    def mask(self, filters: Filters | None) -> np.ndarray | None:
        """Which chunks pass the filters (None: all do)."""
        if filters is None or filters.is_empty():
            return None
        allowed_docs = {doc_id for doc_id, doc in self.documents.items()
                        if _doc_matches(doc, filters)}
        return np.fromiter((c.doc_id in allowed_docs for c in self.chunks), dtype=bool,
                           count=len(self.chunks))

    def sentences_in(self, doc: Document, start: int, end: int) -> tuple[int, int]:
        """Index range [lo, hi) of the document's sentences that overlap [start, end)."""
        starts = [s for s, _ in doc.sentences]
        lo = max(bisect.bisect_right(starts, start) - 1, 0)
        hi = bisect.bisect_left(starts, end)
        return lo, max(hi, lo + 1)


def _doc_matches(doc: Document, filters: Filters) -> bool:
    if filters.doc_ids and doc.doc_id not in filters.doc_ids:
        return False
    if filters.sources and doc.meta.source not in filters.sources:
        return False
    if filters.date_from or filters.date_to:
        if doc.meta.date is None:
            return False
        day = date_key(doc.meta.date)
        if filters.date_from and day < date_key(filters.date_from):
            return False
        if filters.date_to and day > date_key(filters.date_to):
            return False
    return True
