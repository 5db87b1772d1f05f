"""Sliding-window rate-limit counters in the state store, so a limit holds across
replicas (a user whose questions land on two replicas is counted once).

Each admitted request adds one row per bucket ("user:U1", "channel:C1"); a check counts
the rows of the last window. The check-and-add is one transaction that first takes a
transaction-scoped lock per bucket (`pg_advisory_xact_lock` on PostgreSQL; SQLite's
BEGIN IMMEDIATE already runs writers one at a time), so two replicas cannot both admit
the request that fills a bucket.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, func, insert, select, text

from service.index.lock import lock_key
from service.state.db import StateStore
from service.state.schema import rate_hits


class RateCounters:
    def __init__(self, state: StateStore) -> None:
        self._state = state

    def admit(self, buckets: list[tuple[str, int]], window_s: float, now: float) -> float:
        """0 when a request within every (bucket, limit) may go ahead (it is counted),
        else the seconds until it may (a refused request is not counted)."""
        with self._state.engine.begin() as db:
            wait = 0.0
            for bucket, limit in sorted(buckets):
                self._lock(db, bucket)
                db.execute(delete(rate_hits).where(rate_hits.c.bucket == bucket,
                                                   rate_hits.c.at <= now - window_s))
                count, oldest = db.execute(select(func.count(), func.min(rate_hits.c.at))
                                           .where(rate_hits.c.bucket == bucket)).one()
                if count >= limit:
                    wait = max(wait, oldest + window_s - now)
            if wait > 0:
                return wait
            db.execute(insert(rate_hits), [{"bucket": b, "at": now} for b, _ in buckets])
        return 0.0

    def _lock(self, db: Connection, bucket: str) -> None:
        if self._state.dialect == "postgresql":
            db.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                       {"k": lock_key(f"rate:{bucket}")})
