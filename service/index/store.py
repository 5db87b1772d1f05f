"""A versioned index in Chroma: readers see the last committed generation, always.

Three collections per index: `<name>-chunks` (vectors + chunk text), `<name>-docs`
(cleaned text, metadata and sentence spans of each document version) and
`<name>-manifest` (one record: the committed generation and how it was built).

Every chunk and document record carries `gen_from` (the generation that added it) and
`gen_to` (the one that retired it; LIVE while current). A reader at generation G sees
records with gen_from <= G < gen_to. An ingest run writes generation G+1 next to G —
new records, and retirements of old ones by setting their gen_to — and then commits by
rewriting the single manifest record. A crash before that write leaves G untouched;
the next run's `collect_garbage` deletes the orphans and undoes the retirements.
This works the same on an embedded PersistentClient and on a shared Chroma server.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlparse

import numpy as np

from service.config import Settings
from service.errors import ConfigError, IndexNotBuilt
from service.index.backend import (
    LIVE,
    ChunkRef,
    DocVersion,
    Manifest,
    SearchHits,
    date_key,
    version_id,
)
from service.index.config import IndexConfig
from service.index.keywords import KeywordIndex, KeywordRow
from service.index.terms import content_terms
from service.records import (
    Chunk,
    Document,
    DocumentMeta,
    Filters,
    Flag,
    Provenance,
    Section,
)

_PAGE = 5000
_MANIFEST_ID = "manifest"
#: The files the last runs could not index, with why (a record beside the manifest).
_SKIPPED_ID = "skipped"
KEYWORDS_FILE = "keywords.sqlite3"


def make_client(settings: Settings, config: IndexConfig) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_url:
        url = urlparse(settings.chroma_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ConfigError(f"RAG_CHROMA_URL must look like http://host:port, not {url!r}")
        return chromadb.HttpClient(
            host=url.hostname, port=url.port or (443 if url.scheme == "https" else 80),
            ssl=url.scheme == "https", settings=chroma_settings,
        )
    config.store_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(config.store_dir / "chroma"),
                                     settings=chroma_settings)


def _live_at(generation: int) -> list[dict[str, Any]]:
    return [{"gen_from": {"$lte": generation}}, {"gen_to": {"$gt": generation}}]


def _where(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def filter_clauses(filters: Filters | None) -> list[dict[str, Any]]:
    if filters is None:
        return []
    clauses: list[dict[str, Any]] = []
    if filters.doc_ids:
        clauses.append({"doc_id": {"$in": list(filters.doc_ids)}})
    if filters.sources:
        clauses.append({"source": {"$in": list(filters.sources)}})
    if filters.date_from:
        clauses.append({"date": {"$gte": date_key(filters.date_from)}})
    if filters.date_to:
        clauses.append({"date": {"$lte": date_key(filters.date_to)}})
    return clauses


def _location_metadata(chunk: Chunk) -> dict[str, Any]:
    """A chunk's location as scalar metadata (Chroma stores no nested values)."""
    if chunk.location is None:
        return {}
    return {"location": chunk.location.label, "location_json": chunk.location.model_dump_json(
        exclude_defaults=True), "ocr": chunk.location.ocr}


def _doc_metadata(doc: Document) -> dict[str, Any]:
    meta: dict[str, Any] = {"doc_id": doc.doc_id, "title": doc.meta.title}
    if doc.meta.source:
        meta["source"] = doc.meta.source
    if doc.meta.date:
        meta["date"] = date_key(doc.meta.date)
    return meta


class IndexStore:
    """The `chroma` backend (backend.py): Chroma for vectors and documents, an FTS5 file
    beside it for keywords."""

    def __init__(self, config: IndexConfig, settings: Settings) -> None:
        self.config = config
        self._client = make_client(settings, config)
        prefix = config.name
        self._chunks = self._client.get_or_create_collection(
            f"{prefix}-chunks", configuration={"hnsw": {"space": "cosine"}},
            embedding_function=None,
        )
        self._docs = self._client.get_or_create_collection(
            f"{prefix}-docs", embedding_function=None
        )
        self._manifest = self._client.get_or_create_collection(
            f"{prefix}-manifest", embedding_function=None
        )
        self.keywords = KeywordIndex(config.store_dir / KEYWORDS_FILE,
                                     budget=settings.keyword_match_budget)
        self._live_counts: dict[int, int] = {}

    # ---- reading ----------------------------------------------------------------------
    def manifest(self) -> Manifest | None:
        got = self._manifest.get(ids=[_MANIFEST_ID], include=["documents"])
        if not got["ids"]:
            return None
        return Manifest.model_validate_json(got["documents"][0])

    def require_manifest(self) -> Manifest:
        manifest = self.manifest()
        if manifest is None:
            raise IndexNotBuilt(
                f"index {self.config.name!r} has not been built yet: run "
                f"`rag ingest --index {self.config.name}`"
            )
        keywords = self.keywords.generation()
        if keywords is None and manifest.chunks:
            raise IndexNotBuilt(
                f"index {self.config.name!r} has no keyword index yet (it was built by "
                f"an older version): run `rag ingest --index {self.config.name}`, "
                "which adds it without re-embedding")
        if keywords is not None and keywords < manifest.generation:
            raise IndexNotBuilt(
                f"index {self.config.name!r}: the keyword index in {self.keywords.path} is "
                f"at generation {keywords} but the Chroma store at {manifest.generation}, so "
                "it was written from another folder. Processes sharing a Chroma server "
                "must share the indexes folder (one host); across hosts use "
                "RAG_RETRIEVAL_BACKEND=postgres (docs/deploy.md)")
        return manifest

    def _get_all(self, collection: Any, where: dict[str, Any],
                 include: list[str]) -> Iterator[tuple[str, dict[str, Any], str | None]]:
        offset = 0
        while True:
            got = collection.get(where=where, include=include, limit=_PAGE, offset=offset)
            ids = got["ids"]
            metas = got.get("metadatas") or [{}] * len(ids)
            docs = got.get("documents") or [None] * len(ids)
            yield from zip(ids, metas, docs, strict=True)
            if len(ids) < _PAGE:
                return
            offset += _PAGE

    def live_versions(self, generation: int) -> dict[str, DocVersion]:
        rows = self._get_all(self._docs, _where(_live_at(generation)), ["metadatas"])
        return {
            m["doc_id"]: DocVersion(record_id=rid, doc_id=m["doc_id"], sha256=m["sha256"],
                                    root=m["root"], path=m["path"])
            for rid, m, _ in rows
        }

    def live_count(self, generation: int) -> int:
        if generation not in self._live_counts:
            self._live_counts = {generation: self.keywords.live_count(generation)}
        return self._live_counts[generation]

    def documents(self, doc_ids: Iterable[str], generation: int) -> dict[str, Document]:
        """The documents visible at `generation`, of `doc_ids`. Chroma is asked by
        `doc_id` alone and the generation is checked here: its range filters scan every
        metadata row of the store (~200 ms at 200k chunks against ~5 ms for the ids)."""
        wanted = list(dict.fromkeys(doc_ids))
        found: dict[str, Document] = {}
        for batch in _batches(wanted, _PAGE):
            where = {"doc_id": {"$in": batch}}
            for _, m, text in self._get_all(self._docs, where, ["metadatas", "documents"]):
                if m and m["gen_from"] <= generation < m["gen_to"]:
                    found[m["doc_id"]] = _document(m, text)
        return found

    def iter_documents(self, generation: int) -> Iterator[Document]:
        for _, m, text in self._get_all(self._docs, _where(_live_at(generation)),
                                        ["metadatas", "documents"]):
            yield _document(m, text)

    def document_frequencies(self, words: Iterable[str]) -> dict[str, int]:
        return self.keywords.document_frequencies(words)

    def chunk_counts(self, generation: int,
                     doc_ids: Sequence[str] | None = None) -> dict[str, int]:
        return self.keywords.chunk_counts(generation, doc_ids)

    def search(self, vector: np.ndarray, words: Sequence[str], k: int, generation: int,
               filters: Filters | None = None) -> SearchHits:
        refs: dict[str, ChunkRef] = {}
        dense = self._query_dense(vector, k, generation, filters)
        for cid, m in dense:
            refs[cid] = ChunkRef(cid, m["doc_id"], m["position"], m["start"], m["end"])
        keyword = self.keywords.search(words, k, generation, filters)
        for h in keyword:
            refs.setdefault(h.chunk_id, ChunkRef(h.chunk_id, h.doc_id, h.position, h.start,
                                                 h.end))
        return SearchHits(dense=[cid for cid, _ in dense],
                          keyword=[h.chunk_id for h in keyword], chunks=refs)

    def _query_dense(self, embedding: np.ndarray, k: int, generation: int,
                     filters: Filters | None) -> list[tuple[str, dict[str, Any]]]:
        """(chunk_id, metadata), nearest first.

        Without filters the HNSW index is searched with no `where` clause (Chroma
        pre-filters metadata by scanning: ~70 ms at 20k chunks against ~1 ms unfiltered),
        asking for as many extra hits as there are records not visible at this generation,
        and those are dropped here by their generation fields.
        """
        if filters is not None and not filters.is_empty():
            where = _where(_live_at(generation) + filter_clauses(filters))
            got = self._chunks.query(query_embeddings=[embedding.tolist()], n_results=k,
                                     where=where, include=["metadatas"])
            return list(zip(got["ids"][0], got["metadatas"][0], strict=True))
        total = self._chunks.count()
        if not total:
            return []
        hidden = max(total - self.live_count(generation), 0)
        got = self._chunks.query(query_embeddings=[embedding.tolist()],
                                 n_results=max(min(k + hidden, total), 1),
                                 include=["metadatas"])
        # A record another process is writing can come back without its metadata yet
        # (Chroma adds the vector before the metadata): not visible, like any uncommitted.
        hits = [(cid, m) for cid, m in zip(got["ids"][0], got["metadatas"][0], strict=True)
                if m and m["gen_from"] <= generation < m["gen_to"]]
        return hits[:k]

    # ---- writing ----------------------------------------------------------------------
    def upgrade(self, generation: int, dimension: int) -> int:
        """Give an index built before the keyword file its keyword index, from the chunk
        records visible at `generation` (the rest is garbage to collect): no re-embedding.
        Returns the chunks added."""
        if self.keywords.generation() is not None:
            return 0
        self.keywords.clear()
        by_generation: dict[int, list[KeywordRow]] = {}
        for cid, m, text in self._get_all(self._chunks, _where(_live_at(generation)),
                                          ["metadatas", "documents"]):
            by_generation.setdefault(m["gen_from"], []).append(_keyword_row(cid, m, text))
        for gen_from, rows in by_generation.items():
            self.keywords.add(rows, gen_from)
        self.keywords.set_generation(generation)
        return sum(len(rows) for rows in by_generation.values())

    def collect_garbage(self, generation: int) -> int:
        """Remove what a crashed run left and what is retired for more than a generation."""
        removed = 0
        for collection in (self._chunks, self._docs):
            orphans = [i for i, _, _ in self._get_all(
                collection, {"gen_from": {"$gt": generation}}, [])]
            retired = [i for i, _, _ in self._get_all(
                collection, {"gen_to": {"$lt": generation}}, [])]
            for batch in _batches(orphans + retired, _PAGE):
                collection.delete(ids=batch)
            removed += len(orphans) + len(retired)
            undone = [i for i, _, _ in self._get_all(
                collection, _where([{"gen_to": {"$gt": generation}},
                                    {"gen_to": {"$lt": LIVE}}]), [])]
            for batch in _batches(undone, _PAGE):
                collection.update(ids=batch, metadatas=[{"gen_to": LIVE}] * len(batch))
        self._live_counts.clear()
        return removed + self.keywords.collect_garbage(generation)

    def add_documents(self, items: list[tuple[Document, list[Chunk]]], embeddings: np.ndarray,
                      generation: int) -> None:
        """Add document versions and their chunks (rows of `embeddings`, in order) as
        records of `generation`, in large batches: each Chroma call costs ~10 ms."""
        chunk_ids: list[str] = []
        texts: list[str] = []
        chunk_meta: list[dict[str, Any]] = []
        keyword_rows: list[KeywordRow] = []
        doc_ids: list[str] = []
        doc_texts: list[str] = []
        doc_meta: list[dict[str, Any]] = []
        for doc, chunks in items:
            base = _doc_metadata(doc)
            for c in chunks:
                chunk_ids.append(c.chunk_id)
                texts.append(c.text)
                chunk_meta.append({**base, "position": c.position, "start": c.start,
                                   "end": c.end, "gen_from": generation, "gen_to": LIVE,
                                   **_location_metadata(c)})
                keyword_rows.append(_keyword_row(c.chunk_id, chunk_meta[-1], c.text))
            doc_ids.append(version_id(doc.doc_id, doc.sha256))
            doc_texts.append(doc.text)
            doc_meta.append({**base, "path": doc.path, "root": doc.root, "sha256": doc.sha256,
                             "meta_json": doc.meta.model_dump_json(),
                             "sentences_json": json.dumps(doc.sentences),
                             "provenance_json": doc.provenance.model_dump_json(),
                             "flags_json": json.dumps([f.model_dump() for f in doc.flags]),
                             "sections_json": json.dumps([s.model_dump(exclude_defaults=True)
                                                          for s in doc.sections]),
                             **({"parent": doc.parent} if doc.parent else {}),
                             "gen_from": generation, "gen_to": LIVE})
        if len(chunk_ids) != len(embeddings):
            raise ValueError(f"{len(chunk_ids)} chunks but {len(embeddings)} embeddings")
        self.keywords.add(keyword_rows, generation)
        for a in range(0, len(chunk_ids), _PAGE):
            b = a + _PAGE
            self._chunks.add(ids=chunk_ids[a:b], embeddings=embeddings[a:b],
                             documents=texts[a:b], metadatas=chunk_meta[a:b])
        for a in range(0, len(doc_ids), _PAGE):
            b = a + _PAGE
            self._docs.add(ids=doc_ids[a:b], embeddings=[[1.0]] * len(doc_ids[a:b]),
                           documents=doc_texts[a:b], metadatas=doc_meta[a:b])

    def retire(self, versions: list[DocVersion], generation: int) -> None:
        for version in versions:
            # By doc_id alone, the generations checked here: Chroma's range filters scan
            # every metadata row (3 s a document at 1M chunks; see `documents`).
            chunk_ids = [i for i, m, _ in self._get_all(
                self._chunks, {"doc_id": version.doc_id}, ["metadatas"])
                if m and m["gen_to"] == LIVE and m["gen_from"] < generation]
            for batch in _batches(chunk_ids, _PAGE):
                self._chunks.update(ids=batch, metadatas=[{"gen_to": generation}] * len(batch))
            self._docs.update(ids=[version.record_id], metadatas=[{"gen_to": generation}])
        self.keywords.retire([v.doc_id for v in versions], generation)

    def commit(self, manifest: Manifest) -> None:
        """The single write that makes a generation visible (the keyword file first, so
        a reader never sees a manifest ahead of it)."""
        self.keywords.set_generation(manifest.generation)
        self._manifest.upsert(ids=[_MANIFEST_ID], embeddings=[[1.0]],
                              documents=[manifest.model_dump_json()])

    def skipped(self) -> list[dict[str, str]]:
        """Files of the index's folders that are not indexed, with why (doc_id, reason,
        kind, type), as the last ingest runs found them."""
        got = self._manifest.get(ids=[_SKIPPED_ID], include=["documents"])
        if not got["ids"]:
            return []
        return [{k: v for k, v in e.items() if k != "root"}
                for e in json.loads(got["documents"][0])]

    def record_skipped(self, entries: list[dict[str, str]], *, scanned: set[str],
                       full_roots: set[str]) -> None:
        """Replace what is known of the files this run looked at (`scanned` doc ids, and
        every file under `full_roots`) with `entries`; keep what earlier runs found
        elsewhere. Not versioned: it describes the folder, not a generation."""
        got = self._manifest.get(ids=[_SKIPPED_ID], include=["documents"])
        earlier = json.loads(got["documents"][0]) if got["ids"] else []
        kept = [e for e in earlier if e.get("root") not in full_roots
                and e["doc_id"].split("#", 1)[0] not in scanned]
        merged = sorted(kept + entries, key=lambda e: e["doc_id"])
        if merged != earlier:
            self._manifest.upsert(ids=[_SKIPPED_ID], embeddings=[[1.0]],
                                  documents=[json.dumps(merged)])

    def drop(self) -> None:
        for name in ("chunks", "docs", "manifest"):
            self._client.delete_collection(f"{self.config.name}-{name}")
        self.keywords.clear()


def _document(m: dict[str, Any], text: str | None) -> Document:
    return Document(
        doc_id=m["doc_id"], path=m["path"], root=m["root"], sha256=m["sha256"],
        meta=DocumentMeta.model_validate_json(m["meta_json"]), text=text or "",
        sentences=[tuple(s) for s in json.loads(m["sentences_json"])],
        provenance=Provenance.model_validate_json(m.get("provenance_json") or "{}"),
        flags=[Flag.model_validate(f) for f in json.loads(m.get("flags_json") or "[]")],
        sections=[Section.model_validate(s) for s in json.loads(m.get("sections_json")
                                                                or "[]")],
        parent=m.get("parent"))


def _keyword_row(chunk_id: str, m: dict[str, Any], text: str | None) -> KeywordRow:
    return KeywordRow(chunk_id=chunk_id, doc_id=m["doc_id"], position=m["position"],
                      start=m["start"], end=m["end"], source=m.get("source"),
                      date=m.get("date"), words=content_terms(text or ""))


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

