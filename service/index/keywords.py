"""The keyword side of the embedded store: an on-disk SQLite FTS5 index, versioned like
the Chroma records it sits beside (`store.py`), updated in place by each ingest run.

One file, `keywords.sqlite3` in the index's store folder. `chunks` holds what a keyword
hit needs to become a candidate (document, position, span, the metadata filters work
on) and the generations it is visible in; `terms` is an FTS5 table over the chunk's
content words (`service/retrieval/terms.py`: lower-cased, stop words out, Snowball
stems), so FTS5's bm25() ranks the same vocabulary the in-memory BM25 used to. `df`
keeps each word's document frequency for IDF, updated by every write and every
collection (FTS5's own `fts5vocab` counts by walking a word's whole posting list: 160 ms
for three common words at 200k chunks; it serves only to fill `df` in an older file).
Nothing here is loaded into memory: a query reads the posting lists of its words, a
write appends to them.

The MATCH takes the query's rarest words first, while the chunks holding them add up to
at most `budget` (the rarest word always; RAG_KEYWORD_MATCH_BUDGET): scoring a posting
list costs time in proportion to its length, and at a million chunks one common word can
reach a fifth of the corpus. Below `budget` chunks in all, no word is left out and the
ranking is plain BM25.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from service.index.backend import LIVE, date_key
from service.records import Filters

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    rowid INTEGER PRIMARY KEY,
    chunk_id TEXT NOT NULL UNIQUE,
    doc_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    source TEXT,
    date INTEGER,
    gen_from INTEGER NOT NULL,
    gen_to INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks (doc_id);
CREATE INDEX IF NOT EXISTS chunks_gen_to ON chunks (gen_to);
CREATE INDEX IF NOT EXISTS chunks_gen_from ON chunks (gen_from);
CREATE VIRTUAL TABLE IF NOT EXISTS terms USING fts5(
    words, tokenize = "unicode61 remove_diacritics 0 tokenchars '_'");
CREATE VIRTUAL TABLE IF NOT EXISTS vocab USING fts5vocab(terms, row);
CREATE TABLE IF NOT EXISTS df (term TEXT PRIMARY KEY, doc INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_BATCH = 900  # SQLite's default limit is 32766 variables; keep IN lists modest


@dataclass(frozen=True)
class KeywordRow:
    """One chunk as the keyword index stores it (`words`: its content terms)."""

    chunk_id: str
    doc_id: str
    position: int
    start: int
    end: int
    source: str | None
    date: int | None
    words: Sequence[str]


@dataclass(frozen=True)
class KeywordHit:
    chunk_id: str
    doc_id: str
    position: int
    start: int
    end: int
    score: float


class KeywordIndex:
    def __init__(self, path: Path, budget: int = 20_000) -> None:
        self.path = path
        self.budget = budget
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db().executescript(_SCHEMA)
        self._count_words_once()

    def _count_words_once(self) -> None:
        """A file written before `df` existed gets it from fts5vocab, once."""
        db = self._db()
        if db.execute("SELECT 1 FROM state WHERE key = 'df'").fetchone():
            return
        with self._write() as db:
            if not db.execute("SELECT 1 FROM state WHERE key = 'df'").fetchone():
                db.execute("DELETE FROM df")
                db.execute("INSERT INTO df SELECT term, doc FROM vocab")
                db.execute("INSERT INTO state VALUES ('df', 1)")

    # ---- connections --------------------------------------------------------------------
    def _db(self) -> sqlite3.Connection:
        """One connection per thread (the API answers in a thread pool)."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        db = self._db()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def close(self) -> None:
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # ---- reading ------------------------------------------------------------------------
    def generation(self) -> int | None:
        """The last generation committed with this file (None: never)."""
        row = self._db().execute("SELECT value FROM state WHERE key = 'generation'").fetchone()
        return row[0] if row else None

    def document_frequencies(self, words: Iterable[str]) -> dict[str, int]:
        """How many chunks (live or not yet collected) contain each word; absent: 0."""
        wanted = list(dict.fromkeys(words))
        found: dict[str, int] = {}
        db = self._db()
        for i in range(0, len(wanted), _BATCH):
            part = wanted[i:i + _BATCH]
            marks = ",".join("?" * len(part))
            found.update(db.execute(f"SELECT term, doc FROM df WHERE term IN ({marks})",
                                    part).fetchall())
        return found

    def search(self, words: Sequence[str], k: int, generation: int,
               filters: Filters | None = None) -> list[KeywordHit]:
        """The `k` best chunks visible at `generation` by BM25 over `words`, best first."""
        df = self.document_frequencies(words)
        matched = rarest_within(df, self.budget)
        if not matched or k <= 0:
            return []
        query = " OR ".join(f'"{w}"' for w in matched)
        where, args = _filter_sql(filters)
        rows = self._db().execute(
            "SELECT c.chunk_id, c.doc_id, c.position, c.start, c.\"end\", bm25(terms) AS s "
            "FROM terms JOIN chunks c ON c.rowid = terms.rowid "
            f"WHERE terms MATCH ? AND c.gen_from <= ? AND c.gen_to > ?{where} "
            "ORDER BY s LIMIT ?", [query, generation, generation, *args, k]).fetchall()
        # FTS5's bm25() is negative, lower is better.
        return [KeywordHit(cid, doc, pos, start, end, -score)
                for cid, doc, pos, start, end, score in rows]

    def live_count(self, generation: int) -> int:
        return self._db().execute(
            "SELECT count(*) FROM chunks WHERE gen_from <= ? AND gen_to > ?",
            (generation, generation)).fetchone()[0]

    def chunk_counts(self, generation: int, doc_ids: Sequence[str] | None = None
                     ) -> dict[str, int]:
        """Live chunks per document (of `doc_ids`, or all)."""
        db = self._db()
        sql = ("SELECT doc_id, count(*) FROM chunks WHERE gen_from <= ? AND gen_to > ?")
        if doc_ids is None:
            return dict(db.execute(sql + " GROUP BY doc_id", (generation, generation)))
        counts: dict[str, int] = {}
        for i in range(0, len(doc_ids), _BATCH):
            part = list(doc_ids[i:i + _BATCH])
            marks = ",".join("?" * len(part))
            counts.update(db.execute(sql + f" AND doc_id IN ({marks}) GROUP BY doc_id",
                                     (generation, generation, *part)))
        return counts

    # ---- writing (the ingest run holds the index's write lock) ---------------------------
    def add(self, rows: Iterable[KeywordRow], generation: int) -> None:
        df: Counter[str] = Counter()
        with self._write() as db:
            for row in rows:
                cur = db.execute(
                    "INSERT INTO chunks (chunk_id, doc_id, position, start, \"end\", source, "
                    "date, gen_from, gen_to) VALUES (?,?,?,?,?,?,?,?,?)",
                    (row.chunk_id, row.doc_id, row.position, row.start, row.end, row.source,
                     row.date, generation, LIVE))
                db.execute("INSERT INTO terms (rowid, words) VALUES (?, ?)",
                           (cur.lastrowid, " ".join(row.words)))
                df.update(set(row.words))
            db.executemany("INSERT INTO df VALUES (?, ?) ON CONFLICT (term) "
                           "DO UPDATE SET doc = doc + excluded.doc", df.items())

    def set_generation(self, generation: int) -> None:
        with self._write() as db:
            db.execute("INSERT INTO state VALUES ('generation', ?) ON CONFLICT (key) "
                       "DO UPDATE SET value = excluded.value", (generation,))

    def retire(self, doc_ids: Iterable[str], generation: int) -> None:
        """Chunks of these documents live before `generation` stop being visible from it."""
        with self._write() as db:
            db.executemany("UPDATE chunks SET gen_to = ? WHERE doc_id = ? AND gen_to = ? "
                           "AND gen_from < ?",
                           [(generation, d, LIVE, generation) for d in doc_ids])

    def collect_garbage(self, generation: int) -> int:
        """The store's rule (store.py): drop what a crashed run added after `generation`
        and what was retired before it; undo retirements a crashed run made."""
        with self._write() as db:
            doomed = "(gen_from > ? OR gen_to < ?)"
            gone: Counter[str] = Counter()
            for (words,) in db.execute(f"SELECT words FROM terms WHERE rowid IN (SELECT "
                                       f"rowid FROM chunks WHERE {doomed})",
                                       (generation, generation)):
                gone.update(set(words.split()))
            db.executemany("UPDATE df SET doc = doc - ? WHERE term = ?",
                           [(n, w) for w, n in gone.items()])
            db.execute("DELETE FROM df WHERE doc <= 0")
            db.execute(f"DELETE FROM terms WHERE rowid IN (SELECT rowid FROM chunks "
                       f"WHERE {doomed})", (generation, generation))
            removed = db.execute(f"DELETE FROM chunks WHERE {doomed}",
                                 (generation, generation)).rowcount
            db.execute("UPDATE chunks SET gen_to = ? WHERE gen_to > ? AND gen_to < ?",
                       (LIVE, generation, LIVE))
        return removed

    def clear(self) -> None:
        """Empty it (a rebuild). The file stays: other processes have it open."""
        with self._write() as db:
            db.execute("DELETE FROM terms")
            db.execute("DELETE FROM chunks")
            db.execute("DELETE FROM df")
            db.execute("DELETE FROM state WHERE key <> 'df'")


def rarest_within(df: dict[str, int], budget: int) -> list[str]:
    """The words to match: rarest first while their chunk counts add up to at most
    `budget`, and always the rarest one."""
    chosen: list[str] = []
    total = 0
    for word, n in sorted(((w, n) for w, n in df.items() if n > 0), key=lambda x: (x[1], x[0])):
        if chosen and total + n > budget:
            break
        chosen.append(word)
        total += n
    return chosen


def _filter_sql(filters: Filters | None) -> tuple[str, list[object]]:
    """The filters as SQL over `chunks c` (dates as yyyymmdd integers, as stored)."""
    if filters is None or filters.is_empty():
        return "", []
    sql: list[str] = []
    args: list[object] = []
    if filters.doc_ids:
        sql.append(f"c.doc_id IN ({','.join('?' * len(filters.doc_ids))})")
        args += filters.doc_ids
    if filters.sources:
        sql.append(f"c.source IN ({','.join('?' * len(filters.sources))})")
        args += filters.sources
    if filters.date_from:
        sql.append("c.date >= ?")
        args.append(date_key(filters.date_from))
    if filters.date_to:
        sql.append("c.date <= ?")
        args.append(date_key(filters.date_to))
    return "".join(f" AND {s}" for s in sql), args
