"""Opening the state store for a surface, and bringing in what older versions kept
elsewhere: before issue 15, feedback and Slack event ids lived in their own SQLite file
(RAG_SLACK_DB). A file found there is imported into the store once (answers without a
`surface` column came from Slack), then renamed `*.imported` so it is not read again.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

from service.config import Settings
from service.state.db import StateStore, upsert
from service.state.schema import answers, feedback, seen_events

log = logging.getLogger("service.state")
_ANSWER_COLUMNS = ("answer_id", "created_at", "team", "channel", "thread_ts", "user",
                   "index_name", "question", "answer", "abstained", "generator",
                   "faithfulness", "citations")


def open_state(settings: Settings) -> StateStore:
    """The state store of these settings, with any legacy feedback file imported."""
    state = StateStore.from_settings(settings)
    if settings.slack_db.is_file():
        import_legacy_feedback(state, settings.slack_db)
    return state


def _rows(db: sqlite3.Connection, table: str, columns: tuple[str, ...],
          optional: dict[str, Any]) -> list[dict[str, Any]]:
    present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
    if not present:
        return []
    wanted = [*columns, *(c for c in optional if c in present)]
    rows = db.execute(f"SELECT {', '.join(wanted)} FROM {table}").fetchall()
    return [{**optional, **dict(zip(wanted, row, strict=True))} for row in rows]


def import_legacy_feedback(state: StateStore, path: Path) -> int:
    """Copy a legacy feedback file's answers, verdicts and event ids into the store
    (rows already there are kept); returns the number of verdicts read."""
    try:  # read-only: a replica that finds it renamed meanwhile must not create it anew
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            old_answers = _rows(db, "answers", _ANSWER_COLUMNS, {"surface": "slack"})
            old_verdicts = _rows(db, "feedback", ("answer_id", "user", "verdict",
                                                  "created_at"), {"comment": None})
            old_events = _rows(db, "seen_events", ("event_id", "seen_at"), {})
    except sqlite3.OperationalError:
        return 0  # another replica imported it first
    for row in old_answers + old_verdicts:
        row["user_id"] = row.pop("user")
    for row in old_answers:
        row["abstained"] = bool(row["abstained"])
    with state.engine.begin() as tx:
        for table, rows in ((answers, old_answers), (feedback, old_verdicts),
                            (seen_events, old_events)):
            if rows:
                tx.execute(upsert(state, table).on_conflict_do_nothing(), rows)
    if path.exists():
        path.replace(path.with_name(path.name + ".imported"))
    log.warning("imported %d answers and %d verdicts from %s into the state store %s",
                len(old_answers), len(old_verdicts), path, state.describe())
    return len(old_verdicts)
