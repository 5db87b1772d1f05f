"""Timings and token usage of one question, filled in by the stages as it passes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from service.generation.generators import Usage


@dataclass
class Trace:
    started: float = field(default_factory=time.perf_counter)
    timings_ms: dict[str, float] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.timings_ms[name] = _ms(t0)

    def mark(self, name: str, since: float) -> None:
        self.timings_ms.setdefault(name, _ms(since))

    def finish(self) -> None:
        self.timings_ms["total"] = _ms(self.started)

    def usage_dict(self) -> dict[str, int]:
        return {"prompt_tokens": self.usage.prompt_tokens,
                "completion_tokens": self.usage.completion_tokens}


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)
