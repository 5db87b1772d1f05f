"""What every retrieval backend stores and answers: the interface the retriever and the
ingest pipeline use, and the records they exchange.

Two backends implement it:
- `store.py` (`chroma`, the embedded default): Chroma on disk (or a Chroma server) for
  vectors and documents, `keywords.py`'s SQLite FTS5 file for the keyword side;
- `postgres.py` (`postgres`): one PostgreSQL database with pgvector, where the vector
  and keyword candidates come back from one statement.

Both keep an index in generations (store.py's docstring): readers see the last committed
one, an ingest run writes the next beside it and commits it with one write. Neither
holds the corpus in memory: a query reads what it needs from the engine, so a commit is
visible to every process at once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np
from pydantic import BaseModel

from service.records import Chunk, Document, Filters

if TYPE_CHECKING:
    from service.index.config import IndexConfig

#: gen_to of a record that is still current.
LIVE = 2**31 - 1


class Manifest(BaseModel):
    generation: int
    embedder: str
    dimension: int
    chunk_tokens: int
    overlap_tokens: int
    documents: int
    chunks: int
    committed_at: str


@dataclass(frozen=True)
class DocVersion:
    record_id: str
    doc_id: str
    sha256: str
    root: str
    path: str


@dataclass(frozen=True)
class ChunkRef:
    """Where a chunk lies: its document and character span (the text is the document's)."""

    chunk_id: str
    doc_id: str
    position: int
    start: int
    end: int


@dataclass
class SearchHits:
    """One query's candidates: chunk ids best first from each channel, and where each lies."""

    dense: list[str]
    keyword: list[str]
    chunks: dict[str, ChunkRef]


class IndexBackend(Protocol):
    config: IndexConfig

    # ---- reading ----------------------------------------------------------------------
    def manifest(self) -> Manifest | None: ...

    def require_manifest(self) -> Manifest: ...

    def search(self, vector: np.ndarray, words: Sequence[str], k: int, generation: int,
               filters: Filters | None = None) -> SearchHits:
        """Up to `k` vector and `k` keyword (BM25 over `words`) candidates visible at
        `generation` that pass `filters`."""
        ...

    def documents(self, doc_ids: Iterable[str], generation: int) -> dict[str, Document]:
        """These documents as of `generation` (absent ids are left out)."""
        ...

    def iter_documents(self, generation: int) -> Iterator[Document]:
        """Every document of `generation`, a page at a time, in doc id order."""
        ...

    def document_frequencies(self, words: Iterable[str]) -> dict[str, int]:
        """Chunks containing each content word (absent: none)."""
        ...

    def chunk_counts(self, generation: int,
                     doc_ids: Sequence[str] | None = None) -> dict[str, int]: ...

    def skipped(self) -> list[dict[str, str]]: ...

    # ---- writing (one ingest run at a time, under the index's write lock) ---------------
    def upgrade(self, generation: int, dimension: int) -> int:
        """Before an ingest run writes: create or migrate the index's storage for
        embeddings of `dimension` and bring what an older version stored up to this one's
        layout; returns the records touched (0 when there was nothing to do)."""
        ...

    def live_versions(self, generation: int) -> dict[str, DocVersion]: ...

    def live_count(self, generation: int) -> int: ...

    def add_documents(self, items: list[tuple[Document, list[Chunk]]],
                      embeddings: np.ndarray, generation: int) -> None: ...

    def retire(self, versions: list[DocVersion], generation: int) -> None: ...

    def commit(self, manifest: Manifest) -> None: ...

    def collect_garbage(self, generation: int) -> int: ...

    def record_skipped(self, entries: list[dict[str, str]], *, scanned: set[str],
                       full_roots: set[str]) -> None: ...

    def drop(self) -> None: ...


def version_id(doc_id: str, sha256: str) -> str:
    return f"{doc_id}@{sha256[:16]}"


def date_key(day: dt.date) -> int:
    return day.year * 10000 + day.month * 100 + day.day


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
