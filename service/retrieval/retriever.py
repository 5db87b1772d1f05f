"""Hybrid retrieval over one index: dense + BM25 -> RRF -> sentence windows -> passages.

Usage:
    retriever = Retriever(load_index_config(settings, "news"), settings)
    result = retriever.retrieve("Who headed the Russian delegation?")
    for p in result.passages: print(p.rank, p.title, p.text)
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass

from service.config import Settings
from service.embed import Embedder
from service.embed.backends import make_embedder
from service.errors import EmbedderMismatch
from service.index.backend import ChunkRef, IndexBackend, Manifest
from service.index.backends import open_index
from service.index.config import IndexConfig
from service.index.terms import content_terms
from service.ingest.chunk import token_counter
from service.ingest.locations import clip
from service.records import Document, Filters, Passage
from service.retrieval.fusion import reciprocal_rank_fusion
from service.retrieval.idf import FrequencyCache, Idf
from service.retrieval.windows import focus_window, match_score, weighted_overlap


@dataclass
class RetrievalResult:
    passages: list[Passage]
    #: Best share of the question's (IDF-weighted) content words found in one passage.
    coverage: float
    #: Inverse document frequency over the index, for scoring words downstream.
    idf: Callable[[str], float]


class Retriever:
    """Reads the index's backend at every question: nothing of the corpus is held here
    but a bounded cache of word frequencies, so another process's commit is visible to
    the next question."""

    def __init__(self, config: IndexConfig, settings: Settings,
                 store: IndexBackend | None = None, embedder: Embedder | None = None) -> None:
        self.config = config
        self.settings = settings
        self.store = store or open_index(config, settings)
        self.embedder = embedder or make_embedder(config.embedder.name, settings)
        self._frequencies = FrequencyCache()

    def manifest(self) -> Manifest:
        """The committed generation; raises when the index is unbuilt or was built with
        another embedder than the one questions are embedded with."""
        manifest = self.store.require_manifest()
        if manifest.embedder != self.embedder.model_id:
            raise EmbedderMismatch(
                f"index {self.config.name!r} was built with {manifest.embedder} but the "
                f"query embedder is {self.embedder.model_id}"
            )
        return manifest

    def idf(self, manifest: Manifest) -> Idf:
        return Idf(manifest.chunks, manifest.generation, self._frequencies,
                   self.store.document_frequencies)

    def retrieve(self, query: str, filters: Filters | None = None,
                 top_k: int | None = None) -> RetrievalResult:
        manifest = self.manifest()
        query_terms = content_terms(query)
        idf = self.idf(manifest)
        idf.prefetch(query_terms)
        candidates = self._fused_candidates(manifest, query, query_terms, filters)
        documents = self.store.documents({c.doc_id for c in candidates.chunks.values()},
                                         manifest.generation)
        windows = self._focused_windows(candidates, documents, query_terms, idf)
        passages, coverage = self._passages(documents, windows, candidates,
                                            top_k or self.settings.top_k)
        idf.prefetch(t for p in passages for t in content_terms(p.text))
        return RetrievalResult(passages=passages, coverage=coverage, idf=idf)

    def _fused_candidates(self, manifest: Manifest, query: str, query_terms: list[str],
                          filters: Filters | None) -> _Candidates:
        """Vector and keyword hits fused by reciprocal rank."""
        s = self.settings
        vector = self.embedder.embed([query])[0]
        hits = self.store.search(vector, query_terms, s.candidate_k, manifest.generation,
                                 filters)
        fused = reciprocal_rank_fusion([hits.dense, hits.keyword], k=s.rrf_k)[: s.candidate_k]
        return _Candidates(fused=fused, chunks=hits.chunks,
                           dense_rank={cid: r for r, cid in enumerate(hits.dense, start=1)},
                           bm25_rank={cid: r for r, cid in enumerate(hits.keyword, start=1)})

    def _focused_windows(self, candidates: _Candidates, documents: dict[str, Document],
                         query_terms: list[str], idf: Idf) -> dict[str, _Window]:
        """Every candidate focused on its best sentences, then reranked: half the fused
        rank score, half how well the focused window matches the question word for word
        and phrase for phrase. No cross-encoder exists offline; this sentence-level signal
        favours passages that state the answer over ones merely on topic."""
        s = self.settings
        count = token_counter()
        best_fused = candidates.fused[0][1] if candidates.fused else 1.0
        windows: dict[str, _Window] = {}
        for cid, fused_score in candidates.fused:
            chunk = candidates.chunks[cid]
            doc = documents.get(chunk.doc_id)
            if doc is None:  # retired between the search and this read
                continue
            lo, hi = sentences_in(doc, chunk.start, chunk.end)
            start, end = focus_window(doc, lo, hi, query_terms, idf,
                                      s.window_sentences, s.max_passage_tokens, count)
            text = doc.text[start:end]
            score = (1 - s.rerank_weight) * fused_score / best_fused + s.rerank_weight * (
                match_score(query_terms, text, idf))
            windows[cid] = _Window(doc.doc_id, start, end, score,
                                   weighted_overlap(set(query_terms), text, idf))
        return windows

    def _passages(self, documents: dict[str, Document], windows: dict[str, _Window],
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
            doc = documents[w.doc_id]
            passages.append(Passage(
                chunk_id=cid, doc_id=doc.doc_id, title=doc.meta.title, source=doc.meta.source,
                url=doc.meta.url, date=doc.meta.date, text=doc.text[w.start:w.end],
                start=w.start, end=w.end, score=w.score, rank=len(passages) + 1,
                dense_rank=candidates.dense_rank.get(cid),
                bm25_rank=candidates.bm25_rank.get(cid), provenance=doc.provenance.origin,
                reported_speech=self.config.verify.reported_speech,
                sections=clip(doc.sections, w.start, w.end),
            ))
        return passages, coverage


def sentences_in(doc: Document, start: int, end: int) -> tuple[int, int]:
    """Index range [lo, hi) of the document's sentences that overlap [start, end)."""
    starts = [s for s, _ in doc.sentences]
    lo = max(bisect.bisect_right(starts, start) - 1, 0)
    hi = bisect.bisect_left(starts, end)
    return lo, max(hi, lo + 1)


@dataclass
class _Candidates:
    fused: list[tuple[str, float]]
    chunks: dict[str, ChunkRef]
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
