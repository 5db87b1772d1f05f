"""Per-user and per-channel question rate limits (sliding one-minute windows, per process)."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

WINDOW_S = 60.0


class RateLimiter:
    """`check(user, channel)` returns 0 when a question may go ahead (and counts it), else
    the seconds until it may. A refused question is not counted."""

    def __init__(self, per_user: int, per_channel: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_user = per_user
        self.per_channel = per_channel
        self._clock = clock
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def check(self, user: str, channel: str) -> float:
        now = self._clock()
        keys = ((f"user:{user}", self.per_user), (f"channel:{channel}", self.per_channel))
        with self._lock:
            wait = 0.0
            for key, limit in keys:
                hits = self._hits[key]
                while hits and hits[0] <= now - WINDOW_S:
                    hits.popleft()
                if len(hits) >= limit:
                    wait = max(wait, hits[0] + WINDOW_S - now)
            if wait > 0:
                return wait
            for key, _ in keys:
                self._hits[key].append(now)
            return 0.0
