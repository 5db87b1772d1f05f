"""Hybrid retrieval over one index: dense + BM25 -> RRF -> sentence windows -> passages.

Usage:
    retriever = Retriever(load_index_config(settings, "news"), settings)
    result = retriever.retrieve("Who headed the Russian delegation?")
    for p in result.passages: print(p.rank, p.title, p.text)
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from service.config import Settings
from service.embed import Embedder
from service.embed.backends import make_embedder
from service.errors import EmbedderMismatch
from service.index.config import IndexConfig
from service.index.store import IndexStore
from service.ingest.chunk import token_counter
from service.ingest.locations import clip
from service.records import Filters, Passage
from service.retrieval.fusion import reciprocal_rank_fusion
from service.retrieval.snapshot import Snapshot
from service.retrieval.terms import content_terms
from service.retrieval.windows import focus_window, match_score, weighted_overlap


@dataclass
class RetrievalResult:
    passages: list[Passage]
    #: Best share of the question's (IDF-weighted) content words found in one passage.
    coverage: float
    #: Inverse document frequency over the index, for scoring words downstream.
    idf: Callable[[str], float]


class Retriever:
    def __init__(self, config: IndexConfig, settings: Settings,
                 store: IndexStore | None = None, embedder: Embedder | None = None) -> None:
        self.config = config
        self.settings = settings
        self.store = store or IndexStore(config, settings)
        self.embedder = embedder or make_embedder(config.embedder.name, settings)
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()

    def snapshot(self) -> Snapshot:
        """The committed generation; reloaded when another process committed a newer one."""
        manifest = self.store.require_manifest()
        if manifest.embedder != self.embedder.model_id:
            raise EmbedderMismatch(
                f"index {self.config.name!r} was built with {manifest.embedder} but the "
                f"query embedder is {self.embedder.model_id}"
            )
        with self._lock:
            if self._snapshot is None or self._snapshot.generation != manifest.generation:
                self._snapshot = Snapshot.load(self.store, manifest.generation)
            return self._snapshot

    def retrieve(self, query: str, filters: Filters | None = None,
                 top_k: int | None = None) -> RetrievalResult:
        snap = self.snapshot()
        fused = self._fused_candidates(snap, query, filters)
        query_terms = content_terms(query)
        windows = self._focused_windows(snap, fused, query_terms)
        passages, coverage = self._passages(snap, windows, fused, top_k or self.settings.top_k)
        return RetrievalResult(passages=passages, coverage=coverage, idf=snap.bm25.idf)

    def _fused_candidates(self, snap: Snapshot, query: str,
                          filters: Filters | None) -> _Candidates:
        """Dense and BM25 hits fused by reciprocal rank."""
        s = self.settings
        vector = self.embedder.embed([query])[0]
        dense = self.store.query_dense(vector, min(s.candidate_k, max(len(snap.chunks), 1)),
                                       snap.generation, filters, live=snap.position)
        dense_ids = [cid for cid, _ in dense if cid in snap.position]
        lexical = snap.bm25.search(query, s.candidate_k, snap.mask(filters))
        bm25_ids = [snap.chunks[i].chunk_id for i, _ in lexical]
        fused = reciprocal_rank_fusion([dense_ids, bm25_ids], k=s.rrf_k)[: s.candidate_k]
        return _Candidates(fused=fused,
                           dense_rank={cid: r for r, cid in enumerate(dense_ids, start=1)},
                           bm25_rank={cid: r for r, cid in enumerate(bm25_ids, start=1)})

    def _focused_windows(self, snap: Snapshot, candidates: _Candidates,
                         query_terms: list[str]) -> dict[str, _Window]:
        """Every candidate focused on its best sentences, then reranked: half the fused
        rank score, half how well the focused window matches the question word for word
        and phrase for phrase. No cross-encoder exists offline; this sentence-level signal
        favours passages that state the answer over ones merely on topic."""
        s = self.settings
        count = token_counter()
        best_fused = candidates.fused[0][1] if candidates.fused else 1.0
        windows: dict[str, _Window] = {}
        for cid, fused_score in candidates.fused:
            chunk = snap.chunks[snap.position[cid]]
            doc = snap.documents[chunk.doc_id]
            lo, hi = snap.sentences_in(doc, chunk.start, chunk.end)
            start, end = focus_window(doc, lo, hi, query_terms, snap.bm25.idf,
                                      s.window_sentences, s.max_passage_tokens, count)
            text = doc.text[start:end]
            score = (1 - s.rerank_weight) * fused_score / best_fused + s.rerank_weight * (
                match_score(query_terms, text, snap.bm25.idf))
            windows[cid] = _Window(doc.doc_id, start, end, score,
                                   weighted_overlap(set(query_terms), text, snap.bm25.idf))
        return windows

    def _passages(self, snap: Snapshot, windows: dict[str, _Window],
                  candidates: _Candidates, top_k: int) -> tuple[list[Passage], float]:
        """The best `top_k` windows as passages, no two overlapping in one document, and
        the best coverage of the question among them."""
        passages: list[Passage] = []
        taken: dict[str, list[tuple[int, int]]] = {}
        coverage = 0.0
        for cid, w in sorted(windows.items(), key=lambda kv: kv[1].score, reverse=True):
            if len(passages) >= top_k:
                break
            if any(w.start < e and b < w.end for b, e in taken.get(w.doc_id, [])):
                continue  # an overlapping window of this document is already in
            taken.setdefault(w.doc_id, []).append((w.start, w.end))
            coverage = max(coverage, w.coverage)
            doc = snap.documents[w.doc_id]
            passages.append(Passage(
                chunk_id=cid, doc_id=doc.doc_id, title=doc.meta.title, source=doc.meta.source,
                url=doc.meta.url, date=doc.meta.date, text=doc.text[w.start:w.end],
                start=w.start, end=w.end, score=w.score, rank=len(passages) + 1,
                dense_rank=candidates.dense_rank.get(cid),
                bm25_rank=candidates.bm25_rank.get(cid), provenance=doc.provenance.origin,
                sections=clip(doc.sections, w.start, w.end),
            ))
        return passages, coverage


@dataclass
class _Candidates:
    fused: list[tuple[str, float]]
    dense_rank: dict[str, int]
    bm25_rank: dict[str, int]


@dataclass
class _Window:
    doc_id: str
    start: int
    end: int
    score: float
    #: Share of the question's IDF-weighted words in the window.
    coverage: float
