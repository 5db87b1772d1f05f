"""👍/👎 feedback from every surface (Slack, the web page), in one SQLite file.

Each stored answer names the surface it was given on; `rag feedback export` writes one
JSON line per verdict with that surface. One file (RAG_SLACK_DB, kept under that name
because Slack used it first), WAL mode, one short transaction per call: safe to share
between the threads of one process and between the worker processes of one host.
Files written before the `surface` and `comment` columns existed are migrated on open
(their answers came from Slack).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from service.records import Answer, Citation

Verdict = Literal["up", "down"]
Surface = Literal["slack", "web"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    answer_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    team TEXT, channel TEXT NOT NULL, thread_ts TEXT, user TEXT NOT NULL,
    index_name TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
    abstained INTEGER NOT NULL, generator TEXT NOT NULL, faithfulness REAL,
    citations TEXT NOT NULL,
    surface TEXT NOT NULL DEFAULT 'slack'
);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT NOT NULL REFERENCES answers(answer_id),
    user TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('up', 'down')),
    created_at TEXT NOT NULL,
    comment TEXT,
    PRIMARY KEY (answer_id, user)
);
"""
#: Columns added after the first release: (table, column, definition).
_MIGRATIONS = (("answers", "surface", "TEXT NOT NULL DEFAULT 'slack'"),
               ("feedback", "comment", "TEXT"))


class AnsweredQuestion(BaseModel):
    """What a surface that does not hold the `Answer` record (the web page) sends back
    with a verdict: the answer as it was shown."""

    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    index: str
    generator: str
    faithfulness: float | None = None


class FeedbackRecord(BaseModel):
    """One exported line: what was asked, what was answered and cited, and the verdict."""

    answer_id: str
    surface: Surface
    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    index: str
    generator: str
    faithfulness: float | None
    user: str
    verdict: Verdict
    comment: str | None
    time: dt.datetime
    channel: str | None
    thread_ts: str | None


class FeedbackStore:
    """Answers given on one surface and the verdicts people gave them."""

    def __init__(self, path: Path, surface: Surface | None = None) -> None:
        """`surface` names where answers saved through this store were given; a store
        opened without one (the export) only reads."""
        self.path = path
        self.surface = surface
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connection().executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        with self._tx() as db:
            for table, column, definition in _MIGRATIONS:
                present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
                if column not in present:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    def _connection(self) -> sqlite3.Connection:
        """One connection per thread (sqlite3 connections are not shared across threads)."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA busy_timeout=10000")
            self._local.db = db
        return db

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        db = self._connection()
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def save_answer(self, answer: Answer | AnsweredQuestion, *, user: str,
                    channel: str | None = None, thread_ts: str | None = None,
                    team: str | None = None, answer_id: str | None = None) -> str:
        """Keep an answer so verdicts can point at it; an `answer_id` already stored is
        left as it was (a second verdict on the same answer)."""
        if self.surface is None:
            raise ValueError("this feedback store was opened without a surface: read-only")
        answer_id = answer_id or uuid.uuid4().hex
        citations = json.dumps([c.model_dump(mode="json") for c in answer.citations],
                               ensure_ascii=False)
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO answers (answer_id, created_at, team, channel, "
                "thread_ts, user, index_name, question, answer, abstained, generator, "
                "faithfulness, citations, surface) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (answer_id, _now(), team, channel or "", thread_ts, user, answer.index,
                 answer.question, answer.answer, int(answer.abstained), answer.generator,
                 answer.faithfulness, citations, self.surface))
        return answer_id

    def record_feedback(self, answer_id: str, user: str, verdict: Verdict,
                        comment: str | None = None) -> bool:
        """Store (or change) one user's verdict on an answer; False if the answer is unknown."""
        with self._tx() as db:
            if db.execute("SELECT 1 FROM answers WHERE answer_id = ?",
                          (answer_id,)).fetchone() is None:
                return False
            db.execute("INSERT INTO feedback (answer_id, user, verdict, created_at, comment) "
                       "VALUES (?,?,?,?,?) ON CONFLICT(answer_id, user) "
                       "DO UPDATE SET verdict = excluded.verdict, "
                       "created_at = excluded.created_at, "
                       "comment = COALESCE(excluded.comment, feedback.comment)",
                       (answer_id, user, verdict, _now(), comment or None))
        return True

    def feedback(self) -> Iterator[FeedbackRecord]:
        """Every verdict of every surface, oldest first."""
        with self._tx() as db:
            rows = db.execute(
                "SELECT a.answer_id, a.surface, a.question, a.answer, a.abstained, "
                "a.citations, a.index_name, a.generator, a.faithfulness, f.user, f.verdict, "
                "f.comment, f.created_at, a.channel, a.thread_ts FROM feedback f "
                "JOIN answers a USING (answer_id) ORDER BY f.created_at, a.answer_id"
            ).fetchall()
        for row in rows:
            yield FeedbackRecord(**_row(row))


def _row(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("answer_id", "surface", "question", "answer", "abstained", "citations", "index",
            "generator", "faithfulness", "user", "verdict", "comment", "time", "channel",
            "thread_ts")
    data = dict(zip(keys, row, strict=True))
    data["abstained"] = bool(data["abstained"])
    data["citations"] = json.loads(data["citations"])
    data["channel"] = data["channel"] or None
    return data


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
