"""The Slack bot's SQLite state: the answers it gave and 👍/👎 on them (the shared
feedback store, service/state/feedback.py), plus the event ids it has already taken, so
Slack's retries never produce a second answer."""

from __future__ import annotations

import time
from pathlib import Path

from service.state.feedback import FeedbackRecord, FeedbackStore, Verdict

__all__ = ["DEDUPE_TTL_S", "FeedbackRecord", "SlackStore", "Verdict"]

#: How long an event id is remembered; Slack retries within minutes.
DEDUPE_TTL_S = 3600

_SCHEMA = """
CREATE TABLE IF NOT EXISTS seen_events (
    event_id TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
);
"""


class SlackStore(FeedbackStore):
    def __init__(self, path: Path) -> None:
        super().__init__(path, surface="slack")
        self._connection().executescript(_SCHEMA)

    def first_sighting(self, event_id: str) -> bool:
        """True the first time an event id is seen; False for Slack's retries of it."""
        now = time.time()
        with self._tx() as db:
            db.execute("DELETE FROM seen_events WHERE seen_at < ?", (now - DEDUPE_TTL_S,))
            cur = db.execute("INSERT OR IGNORE INTO seen_events VALUES (?, ?)",
                             (event_id, now))
            return cur.rowcount == 1
