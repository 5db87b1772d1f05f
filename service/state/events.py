"""Event ids already taken, so a retried delivery (Slack resends an event it thinks we
missed, possibly to another replica) is answered once. Shared by every replica through
the state store: the primary key decides which delivery wins."""

from __future__ import annotations

import time

from sqlalchemy import delete

from service.state.db import StateStore, upsert
from service.state.schema import seen_events

#: How long an event id is remembered; Slack retries within minutes.
DEDUPE_TTL_S = 3600


class SeenEvents:
    def __init__(self, state: StateStore) -> None:
        self._state = state

    def first_sighting(self, event_id: str) -> bool:
        """True the first time an event id is seen (by any replica); False for retries."""
        now = time.time()
        with self._state.engine.begin() as db:
            db.execute(delete(seen_events).where(seen_events.c.seen_at < now - DEDUPE_TTL_S))
            inserted = db.execute(upsert(self._state, seen_events).values(
                event_id=event_id, seen_at=now).on_conflict_do_nothing()
                .returning(seen_events.c.event_id)).first()
        return inserted is not None
