"""The Slack bot's SQLite state: answers it gave, 👍/👎 feedback on them, and the event ids
it has already taken (so Slack's retries never produce a second answer).

One file (RAG_SLACK_DB), WAL mode, one short transaction per call: safe to share between
the threads of one process and between the worker processes of one host.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from service.records import Answer, Citation

Verdict = Literal["up", "down"]
#: How long an event id is remembered; Slack retries within minutes.
DEDUPE_TTL_S = 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    answer_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    team TEXT, channel TEXT NOT NULL, thread_ts TEXT, user TEXT NOT NULL,
    index_name TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
    abstained INTEGER NOT NULL, generator TEXT NOT NULL, faithfulness REAL,
    citations TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT NOT NULL REFERENCES answers(answer_id),
    user TEXT NOT NULL,
    verdict TEXT NOT NULL CHECK (verdict IN ('up', 'down')),
    created_at TEXT NOT NULL,
    PRIMARY KEY (answer_id, user)
);
CREATE TABLE IF NOT EXISTS seen_events (
    event_id TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
);
"""


class FeedbackRecord(BaseModel):
    """One exported line: what was asked, what was answered and cited, and the verdict."""

    answer_id: str
    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    index: str
    generator: str
    faithfulness: float | None
    user: str
    verdict: Verdict
    time: dt.datetime
    channel: str
    thread_ts: str | None


class SlackStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._connection().executescript(_SCHEMA)

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

    def first_sighting(self, event_id: str) -> bool:
        """True the first time an event id is seen; False for Slack's retries of it."""
        now = time.time()
        with self._tx() as db:
            db.execute("DELETE FROM seen_events WHERE seen_at < ?", (now - DEDUPE_TTL_S,))
            cur = db.execute("INSERT OR IGNORE INTO seen_events VALUES (?, ?)",
                             (event_id, now))
            return cur.rowcount == 1

    def save_answer(self, answer: Answer, *, user: str, channel: str,
                    thread_ts: str | None, team: str | None) -> str:
        answer_id = uuid.uuid4().hex
        citations = json.dumps([c.model_dump(mode="json") for c in answer.citations],
                               ensure_ascii=False)
        with self._tx() as db:
            db.execute(
                "INSERT INTO answers VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (answer_id, _now(), team, channel, thread_ts, user, answer.index,
                 answer.question, answer.answer, int(answer.abstained), answer.generator,
                 answer.faithfulness, citations))
        return answer_id

    def record_feedback(self, answer_id: str, user: str, verdict: Verdict) -> bool:
        """Store (or change) one user's verdict on an answer; False if the answer is unknown."""
        with self._tx() as db:
            if db.execute("SELECT 1 FROM answers WHERE answer_id = ?",
                          (answer_id,)).fetchone() is None:
                return False
            db.execute("INSERT INTO feedback VALUES (?,?,?,?) ON CONFLICT(answer_id, user) "
                       "DO UPDATE SET verdict = excluded.verdict, "
                       "created_at = excluded.created_at",
                       (answer_id, user, verdict, _now()))
        return True

    def feedback(self) -> Iterator[FeedbackRecord]:
        with self._tx() as db:
            rows = db.execute(
                "SELECT a.answer_id, a.question, a.answer, a.abstained, a.citations, "
                "a.index_name, a.generator, a.faithfulness, f.user, f.verdict, f.created_at, "
                "a.channel, a.thread_ts FROM feedback f JOIN answers a USING (answer_id) "
                "ORDER BY f.created_at, a.answer_id").fetchall()
        for row in rows:
            yield FeedbackRecord(**_row(row))


def _row(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("answer_id", "question", "answer", "abstained", "citations", "index", "generator",
            "faithfulness", "user", "verdict", "time", "channel", "thread_ts")
    data = dict(zip(keys, row, strict=True))
    data["abstained"] = bool(data["abstained"])
    data["citations"] = json.loads(data["citations"])
    return data


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
