"""Per-user and per-channel question rate limits (sliding one-minute windows), counted in
the state store so they hold across replicas (service/state/rate_limits.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

from service.state.rate_limits import RateCounters

WINDOW_S = 60.0


class RateLimiter:
    """`check(user, channel)` returns 0 when a question may go ahead (and counts it), else
    the seconds until it may. A refused question is not counted."""

    def __init__(self, counters: RateCounters, per_user: int, per_channel: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.per_user = per_user
        self.per_channel = per_channel
        self._counters = counters
        self._clock = clock

    def check(self, user: str, channel: str) -> float:
        return self._counters.admit([(f"slack-user:{user}", self.per_user),
                                     (f"slack-channel:{channel}", self.per_channel)],
                                    WINDOW_S, self._clock())
