"""Validate citation markers in streamed text without holding the stream back.

Text passes through as it arrives, except a `[...]` group, which is held until it closes
and then kept only for the numbers that point at a passage the model was given. A
bracket that does not turn into a marker within a few characters is released as is.
"""

from __future__ import annotations

import re

_GROUP = re.compile(r"^\[\s*(?:passages?|sources?)?\s*(\d+(?:\s*(?:,|;|and)\s*\d+)*)\s*\]$",
                    re.I)
_MAX_GROUP = 24


class MarkerFilter:
    def __init__(self, passages: int) -> None:
        self._passages = passages
        self._held = ""
        self.dropped = 0

    def feed(self, delta: str) -> str:
        out: list[str] = []
        for ch in delta:
            if self._held:
                self._held += ch
                if ch == "]":
                    out.append(self._resolve(self._held))
                    self._held = ""
                elif len(self._held) > _MAX_GROUP or ch == "\n":
                    out.append(self._held)
                    self._held = ""
            elif ch == "[":
                self._held = ch
            else:
                out.append(ch)
        return "".join(out)

    def flush(self) -> str:
        held, self._held = self._held, ""
        return held

    def _resolve(self, group: str) -> str:
        match = _GROUP.match(group)
        if not match:
            return group
        numbers = [int(n) for n in re.findall(r"\d+", match.group(1))]
        valid = [n for n in numbers if 1 <= n <= self._passages]
        self.dropped += len(numbers) - len(valid)
        return "".join(f"[{n}]" for n in valid)
