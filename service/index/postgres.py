"""The `postgres` backend: an index in one PostgreSQL database with pgvector.

Each index is a schema, `idx_<name>`, made and migrated by Alembic (`pg_migrations/`)
when `rag ingest` first writes it. Generations work as in store.py: every chunk and
document row has `gen_from`/`gen_to`, readers filter on the committed generation in
`meta`, an ingest run writes the next generation beside it and commits by updating that
one row. Every write is a transaction, so a killed writer leaves nothing half-visible,
and a commit is visible to every replica at its next question: nothing is cached here
but the connection pool.

A question is one statement (`_SEARCH`): the HNSW vector candidates and the keyword
candidates come back together, each channel with its own cap. The keyword channel is
BM25 computed in SQL: IDF from the `terms` table (chunks holding each word), term
frequency from `tf2` (1 for a word in `words` but not in `tf2`), length from `n_words`.
It matches the query's rarest words first, while their chunk counts add up to at most
`keyword_match_budget`, and scores at most that many matching chunks, so a question of
common words cannot scan a fifth of the corpus; the words left out of the match still
add to the score of the chunks that are matched.

Writes go in with COPY. The first build of an index (no committed generation) drops the
HNSW and GIN indexes, loads the rows and builds the indexes once at commit: a bulk
build is several times faster than inserting into a live HNSW graph.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from service.config import Settings
from service.errors import ConfigError, IndexNotBuilt
from service.index.backend import (
    LIVE,
    ChunkRef,
    DocVersion,
    Manifest,
    SearchHits,
    version_id,
)
from service.index.config import IndexConfig
from service.index.lock import lock_key
from service.index.terms import content_terms
from service.records import Chunk, Document, Filters

MIGRATIONS = Path(__file__).with_name("pg_migrations")
#: Longest word kept in the keyword index (PostgreSQL's lexeme limit is 2 KB).
MAX_WORD = 200
_PAGE = 500
_SECONDARY = {
    "chunks_words": "USING gin (words)",
    "chunks_embedding": "USING hnsw (embedding vector_cosine_ops)",
}

_SEARCH = """
WITH st AS (
    SELECT greatest(chunks, 1)::float8 AS n,
           greatest(words::float8 / greatest(chunks, 1), 1) AS avgdl
    FROM {s}.stats),
q AS (
    SELECT t.term, t.df, ln(1 + (st.n - t.df + 0.5) / (t.df + 0.5)) AS idf,
           quote_literal(t.term)::tsquery AS tsq,
           sum(t.df) OVER (ORDER BY t.df, t.term) - t.df AS rarer
    FROM {s}.terms t, st
    WHERE t.term = ANY(%(words)s) AND t.df > 0),
matched AS (
    SELECT string_agg(quote_literal(term), ' | ')::tsquery AS tsq
    FROM q WHERE rarer = 0 OR rarer + df <= %(budget)s),
kw_rows AS (
    SELECT c.chunk_id, c.words, c.tf2, c.n_words
    FROM {s}.chunks c, matched
    WHERE c.words @@ matched.tsq AND c.gen_from <= %(gen)s AND c.gen_to > %(gen)s {filters}
    LIMIT %(budget)s),
kw AS (
    SELECT r.chunk_id,
           (SELECT sum(q.idf * x.tf * 2.2
                       / (x.tf + 1.2 * (0.25 + 0.75 * r.n_words / st.avgdl)))
            FROM q, LATERAL (SELECT coalesce((r.tf2 ->> q.term)::float8, 1.0) AS tf) x
            WHERE r.words @@ q.tsq) AS score
    FROM kw_rows r, st
    ORDER BY score DESC, r.chunk_id
    LIMIT %(k)s),
dense AS MATERIALIZED (
    SELECT c.chunk_id, c.embedding <=> %(vector)s::vector AS distance
    FROM {s}.chunks c
    WHERE c.gen_from <= %(gen)s AND c.gen_to > %(gen)s {filters}
    ORDER BY distance
    LIMIT %(k)s),
hits AS MATERIALIZED (
    SELECT 'd' AS channel, chunk_id,
           row_number() OVER (ORDER BY distance, chunk_id) AS rank FROM dense
    UNION ALL
    SELECT 'k', chunk_id, row_number() OVER (ORDER BY score DESC, chunk_id) FROM kw)
SELECT h.channel, h.rank, c.chunk_id, c.doc_id, c.position, c.start_char, c.end_char
FROM hits h JOIN {s}.chunks c USING (chunk_id)
ORDER BY h.channel, h.rank
"""

_engines: dict[str, Any] = {}
_engines_lock = threading.Lock()


def _engine(url: str, ef_search: int) -> Any:
    """One SQLAlchemy pool per database URL and process, shared by every index."""
    from sqlalchemy import create_engine

    key = f"{url}|{ef_search}"
    with _engines_lock:
        if key not in _engines:
            options = f"-c hnsw.ef_search={ef_search} -c hnsw.iterative_scan=relaxed_order"
            _engines[key] = create_engine(url, pool_pre_ping=True, pool_size=8,
                                          connect_args={"options": options})
        return _engines[key]


class PostgresIndex:
    """The `postgres` backend (backend.py's interface)."""

    def __init__(self, config: IndexConfig, settings: Settings) -> None:
        if not settings.database_url or not settings.database_url.startswith("postgresql"):
            raise ConfigError(
                "RAG_RETRIEVAL_BACKEND=postgres needs RAG_DATABASE_URL=postgresql+psycopg://"
                "user:password@host:5432/db (a PostgreSQL with the pgvector extension; "
                "docs/deploy.md)")
        self.config = config
        self.schema = f"idx_{config.name}"
        self.budget = settings.keyword_match_budget
        self._engine = _engine(settings.database_url, settings.pg_ef_search)
        self._s = f'"{self.schema}"'
        self._bulk = False
        self._build_memory = settings.pg_index_build_memory

    # ---- connections --------------------------------------------------------------------
    @contextmanager
    def _connection(self) -> Iterator[Any]:
        """A pooled psycopg connection; what it did is committed on success, rolled back
        otherwise."""
        pooled = self._engine.raw_connection()
        try:
            connection = pooled.driver_connection
            try:
                yield connection
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
        finally:
            pooled.close()

    def _rows(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        from psycopg import errors

        try:
            with self._connection() as db:
                return db.execute(sql.replace("{s}", self._s), args).fetchall()
        except errors.UndefinedTable:
            return []

    # ---- reading ----------------------------------------------------------------------
    def _meta(self, key: str) -> Any:
        rows = self._rows("SELECT value FROM {s}.meta WHERE key = %s", (key,))
        return rows[0][0] if rows else None

    def manifest(self) -> Manifest | None:
        value = self._meta("manifest")
        return Manifest.model_validate(value) if value else None

    def require_manifest(self) -> Manifest:
        manifest = self.manifest()
        if manifest is None:
            raise IndexNotBuilt(
                f"index {self.config.name!r} has not been built yet on the PostgreSQL "
                f"backend: run `rag ingest --index {self.config.name}`")
        return manifest

    def search(self, vector: np.ndarray, words: Sequence[str], k: int, generation: int,
               filters: Filters | None = None) -> SearchHits:
        filter_sql, filter_args = _filter_sql(filters)
        sql = _SEARCH.replace("{filters}", filter_sql)
        args = {"words": _keyword_words(words), "budget": self.budget, "gen": generation,
                "k": k, "vector": _vector_literal(vector), **filter_args}
        dense: list[str] = []
        keyword: list[str] = []
        chunks: dict[str, ChunkRef] = {}
        for channel, _, cid, doc_id, position, start, end in self._rows(sql, args):
            (dense if channel == "d" else keyword).append(cid)
            chunks[cid] = ChunkRef(cid, doc_id, position, start, end)
        return SearchHits(dense=dense, keyword=keyword, chunks=chunks)

    def documents(self, doc_ids: Iterable[str], generation: int) -> dict[str, Document]:
        rows = self._rows(
            "SELECT body FROM {s}.documents WHERE doc_id = ANY(%s) "
            "AND gen_from <= %s AND gen_to > %s", (list(set(doc_ids)), generation, generation))
        found = (Document.model_validate_json(body) for (body,) in rows)
        return {d.doc_id: d for d in found}

    def iter_documents(self, generation: int) -> Iterator[Document]:
        after = ""
        while True:
            rows = self._rows(
                "SELECT doc_id, body FROM {s}.documents WHERE doc_id > %s AND gen_from <= %s "
                "AND gen_to > %s ORDER BY doc_id LIMIT %s",
                (after, generation, generation, _PAGE))
            for _, body in rows:
                yield Document.model_validate_json(body)
            if len(rows) < _PAGE:
                return
            after = rows[-1][0]

    def document_frequencies(self, words: Iterable[str]) -> dict[str, int]:
        return dict(self._rows("SELECT term, df FROM {s}.terms WHERE term = ANY(%s)",
                               (_keyword_words(words),)))

    def chunk_counts(self, generation: int,
                     doc_ids: Sequence[str] | None = None) -> dict[str, int]:
        sql = ("SELECT doc_id, count(*) FROM {s}.chunks WHERE gen_from <= %s AND gen_to > %s")
        if doc_ids is None:
            return dict(self._rows(sql + " GROUP BY doc_id", (generation, generation)))
        return dict(self._rows(sql + " AND doc_id = ANY(%s) GROUP BY doc_id",
                               (generation, generation, list(doc_ids))))

    def live_versions(self, generation: int) -> dict[str, DocVersion]:
        rows = self._rows("SELECT record_id, doc_id, sha256, root, path FROM {s}.documents "
                          "WHERE gen_from <= %s AND gen_to > %s", (generation, generation))
        return {r[1]: DocVersion(*r) for r in rows}

    def live_count(self, generation: int) -> int:
        rows = self._rows("SELECT count(*) FROM {s}.chunks WHERE gen_from <= %s "
                          "AND gen_to > %s", (generation, generation))
        return rows[0][0] if rows else 0

    def skipped(self) -> list[dict[str, str]]:
        return [{k: v for k, v in e.items() if k != "root"} for e in self._meta("skipped") or []]

    # ---- writing (one ingest run at a time, under the index's write lock) ---------------
    def upgrade(self, generation: int, dimension: int) -> int:
        """Create or migrate the index's schema. Without a committed generation whatever
        is stored is a crashed run's: it is emptied and the run loads in bulk."""
        self._migrate(dimension)
        if self.manifest() is None:
            with self._connection() as db:
                db.execute(self._sql("TRUNCATE {s}.chunks, {s}.documents, {s}.terms"))
                db.execute(self._sql("UPDATE {s}.stats SET chunks = 0, words = 0"))
                for name in _SECONDARY:
                    db.execute(self._sql(f"DROP INDEX IF EXISTS {{s}}.{name}"))
            self._bulk = True
        else:
            self._create_secondary_indexes()
        return 0

    def _migrate(self, dimension: int) -> None:
        from alembic import command
        from alembic.config import Config
        from sqlalchemy import text

        try:
            with self._engine.begin() as connection:
                connection.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                                   {"k": lock_key(f"rag-index-migrate-{self.schema}")})
                connection.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
                connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {self._s}"))
                config = Config()
                config.set_main_option("script_location", str(MIGRATIONS))
                config.attributes.update(connection=connection, schema=self.schema,
                                         dimension=dimension)
                command.upgrade(config, "head")
        except Exception as exc:
            if "vector" in str(exc) and "extension" in str(exc):
                raise ConfigError(
                    "the PostgreSQL backend needs the pgvector extension: install it on the "
                    "server and run `CREATE EXTENSION vector` as a superuser in the "
                    f"database (docs/deploy.md); the server said: {exc}") from exc
            raise

    def _create_secondary_indexes(self) -> None:
        with self._connection() as db:
            db.execute(f"SET maintenance_work_mem = '{self._build_memory}'")
            for name, how in _SECONDARY.items():
                db.execute(self._sql(f"CREATE INDEX IF NOT EXISTS {name} ON {{s}}.chunks {how}"))

    def _sql(self, sql: str) -> str:
        return sql.replace("{s}", self._s)

    def add_documents(self, items: list[tuple[Document, list[Chunk]]],
                      embeddings: np.ndarray, generation: int) -> None:
        """The documents and their chunks (rows of `embeddings`, in order) as records of
        `generation`, in one transaction."""
        if sum(len(chunks) for _, chunks in items) != len(embeddings):
            raise ValueError(f"{sum(len(c) for _, c in items)} chunks but "
                             f"{len(embeddings)} embeddings")
        df: Counter[str] = Counter()
        words_total = 0
        row = 0
        with self._connection() as db:
            with db.cursor().copy(self._sql(
                    "COPY {s}.chunks (chunk_id, doc_id, position, start_char, end_char, source,"
                    " day, gen_from, gen_to, embedding, words, tf2, n_words) FROM STDIN")) as cp:
                for doc, chunks in items:
                    for c in chunks:
                        counts = Counter(_keyword_words(content_terms(c.text)))
                        df.update(counts.keys())
                        n_words = sum(counts.values())
                        words_total += n_words
                        cp.write_row((
                            c.chunk_id, doc.doc_id, c.position, c.start, c.end,
                            doc.meta.source, doc.meta.date, generation, LIVE,
                            _vector_literal(embeddings[row]), _tsvector_literal(counts),
                            json.dumps({w: n for w, n in counts.items() if n > 1}), n_words))
                        row += 1
            with db.cursor().copy(self._sql(
                    "COPY {s}.documents (record_id, doc_id, path, root, sha256, gen_from, "
                    "gen_to, body) FROM STDIN")) as cp:
                for doc, _ in items:
                    cp.write_row((version_id(doc.doc_id, doc.sha256), doc.doc_id, doc.path,
                                  doc.root, doc.sha256, generation, LIVE,
                                  doc.model_dump_json()))
            terms = sorted(df)
            db.execute(self._sql(
                "INSERT INTO {s}.terms (term, df) SELECT * FROM unnest(%s::text[], %s::int[]) "
                "ON CONFLICT (term) DO UPDATE SET df = terms.df + EXCLUDED.df"),
                (terms, [df[t] for t in terms]))
            db.execute(self._sql("UPDATE {s}.stats SET chunks = chunks + %s, "
                                 "words = words + %s"), (row, words_total))

    def retire(self, versions: list[DocVersion], generation: int) -> None:
        with self._connection() as db:
            db.execute(self._sql("UPDATE {s}.chunks SET gen_to = %s WHERE doc_id = ANY(%s) "
                                 "AND gen_to = %s AND gen_from < %s"),
                       (generation, [v.doc_id for v in versions], LIVE, generation))
            db.execute(self._sql("UPDATE {s}.documents SET gen_to = %s "
                                 "WHERE record_id = ANY(%s)"),
                       (generation, [v.record_id for v in versions]))

    def commit(self, manifest: Manifest) -> None:
        """The single write that makes a generation visible (after a bulk load, once the
        vector and keyword indexes are built)."""
        if self._bulk:
            self._create_secondary_indexes()
            with self._connection() as db:
                db.execute(self._sql("ANALYZE {s}.chunks"))
            self._bulk = False
        self._set_meta("manifest", manifest.model_dump())

    def _set_meta(self, key: str, value: Any) -> None:
        with self._connection() as db:
            db.execute(self._sql("INSERT INTO {s}.meta (key, value) VALUES (%s, %s::jsonb) "
                                 "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"),
                       (key, json.dumps(value)))

    def collect_garbage(self, generation: int) -> int:
        """Remove what a crashed run added after `generation` and what was retired before
        it (with their words' counts); undo the retirements a crashed run made."""
        doomed = "gen_from > %(g)s OR gen_to < %(g)s"
        with self._connection() as db:
            removed = db.execute(self._sql(f"""
                WITH gone AS (DELETE FROM {{s}}.chunks WHERE {doomed}
                              RETURNING words, n_words),
                     counted AS (SELECT count(*) AS n, coalesce(sum(n_words), 0) AS w
                                 FROM gone),
                     lost AS (SELECT u.lexeme, count(*) AS n
                              FROM gone, unnest(gone.words) u GROUP BY u.lexeme),
                     terms AS (UPDATE {{s}}.terms t SET df = t.df - lost.n FROM lost
                               WHERE t.term = lost.lexeme),
                     stats AS (UPDATE {{s}}.stats SET chunks = chunks - counted.n,
                                      words = words - counted.w FROM counted)
                SELECT n FROM counted"""), {"g": generation}).fetchone()[0]
            db.execute(self._sql("DELETE FROM {s}.terms WHERE df <= 0"))
            removed += db.execute(self._sql(f"DELETE FROM {{s}}.documents WHERE {doomed}"),
                                  {"g": generation}).rowcount
            for table in ("chunks", "documents"):
                db.execute(self._sql(f"UPDATE {{s}}.{table} SET gen_to = %s "
                                     "WHERE gen_to > %s AND gen_to < %s"),
                           (LIVE, generation, LIVE))
        return removed

    def record_skipped(self, entries: list[dict[str, str]], *, scanned: set[str],
                       full_roots: set[str]) -> None:
        """As store.py's: what this run looked at replaces what was known of it."""
        earlier = self._meta("skipped") or []
        kept = [e for e in earlier if e.get("root") not in full_roots
                and e["doc_id"].split("#", 1)[0] not in scanned]
        merged = sorted(kept + entries, key=lambda e: e["doc_id"])
        if merged != earlier:
            self._set_meta("skipped", merged)

    def drop(self) -> None:
        with self._connection() as db:
            db.execute(f"DROP SCHEMA IF EXISTS {self._s} CASCADE")


def _keyword_words(words: Iterable[str]) -> list[str]:
    return [w for w in dict.fromkeys(words) if len(w) <= MAX_WORD]


def _vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]"


def _tsvector_literal(counts: Counter[str]) -> str:
    """Content words as tsvector input: quoted lexemes, no positions. Words are `\\w+`
    runs, so they hold no quote or backslash to escape."""
    return " ".join(f"'{w}'" for w in counts)


def _filter_sql(filters: Filters | None) -> tuple[str, dict[str, Any]]:
    if filters is None or filters.is_empty():
        return "", {}
    sql: list[str] = []
    args: dict[str, Any] = {}
    if filters.doc_ids:
        sql.append("c.doc_id = ANY(%(f_docs)s)")
        args["f_docs"] = list(filters.doc_ids)
    if filters.sources:
        sql.append("c.source = ANY(%(f_sources)s)")
        args["f_sources"] = list(filters.sources)
    if filters.date_from:
        sql.append("c.day >= %(f_from)s")
        args["f_from"] = filters.date_from
    if filters.date_to:
        sql.append("c.day <= %(f_to)s")
        args["f_to"] = filters.date_to
    return "".join(f" AND {s}" for s in sql), args
