"""The citation-marker grammar: the one owner of what `[n]` looks like.

Answers cite passages with markers `[1]`, `[2]`. Models also write groups (`[1, 2]`,
`[1 and 3]`, `[Passage 2]`, `[doc 1; 2]`): those are normalised to single markers first.
Everything that writes, finds, strips, renumbers or streams markers goes through this
module, so the grammar cannot diverge between, say, streaming and citation repair.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

_LABEL = r"(?:passages?|sources?|doc(?:ument)?s?)"
_NUMBERS = rf"(\d+(?:\s*(?:,|;|and)\s*(?:{_LABEL}\s*)?\d+)*)"
#: A marker group as models write it.
GROUP = re.compile(rf"\[\s*(?:{_LABEL})?\s*{_NUMBERS}\s*\]", re.I)
_WHOLE_GROUP = re.compile(rf"^\[\s*(?:{_LABEL})?\s*{_NUMBERS}\s*\]$", re.I)
#: One normalised marker; group 1 is its number.
MARKER = re.compile(r"\[(\d+)\]")
#: A run of markers, e.g. `[1][3]`.
MARKER_RUN = r"(?:\[\d+\])+"


def marker(number: int) -> str:
    return f"[{number}]"


def normalise(text: str) -> str:
    """Groups expanded to single markers: `[1, 2]` -> `[1][2]`, `[Passage 3]` -> `[3]`."""
    def expand(match: re.Match[str]) -> str:
        return "".join(marker(int(n)) for n in re.findall(r"\d+", match.group(1)))

    return GROUP.sub(expand, text)


def numbers(text: str) -> list[int]:
    """Passage numbers the text cites, in order of first use."""
    return list(dict.fromkeys(int(n) for n in MARKER.findall(normalise(text))))


def has_marker(text: str) -> bool:
    return MARKER.search(normalise(text)) is not None


def strip(text: str) -> str:
    """The text without markers (and the space before each)."""
    return re.sub(r"\s*" + MARKER.pattern, "", normalise(text))


def renumber(text: str, mapping: Callable[[int], str]) -> str:
    """Each marker replaced by `mapping(number)` (which may return "" to drop it)."""
    return MARKER.sub(lambda m: mapping(int(m.group(1))), text)


def collapse_repeats(text: str) -> str:
    """`[1][1]` -> `[1]`."""
    return re.sub(r"(\[\d+\])(\1)+", r"\1", text)


def place(sentence: str, cited: list[int]) -> str:
    """The sentence with its markers replaced by `cited`, placed before its final stop."""
    body = MARKER.sub("", sentence).rstrip()
    stop = body[-1] if body and body[-1] in ".!?" else ""
    body = re.sub(r"\s+([.!?])$", r"\1", body[: len(body) - len(stop)].rstrip())
    return body + "".join(f" {marker(n)}" if i == 0 else marker(n)
                          for i, n in enumerate(cited)) + stop


class MarkerFilter:
    """Validate markers in streamed text without holding the stream back.

    Text passes through as it arrives, except a `[...]` group, which is held until it
    closes and then kept only for the numbers that point at a passage the model was
    given. A bracket that does not turn into a marker within a few characters is
    released as is.
    """

    MAX_GROUP = 24

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
                elif len(self._held) > self.MAX_GROUP or ch == "\n":
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
        match = _WHOLE_GROUP.match(group)
        if not match:
            return group
        cited = [int(n) for n in re.findall(r"\d+", match.group(1))]
        valid = [n for n in cited if 1 <= n <= self._passages]
        self.dropped += len(cited) - len(valid)
        return "".join(marker(n) for n in valid)


def late_markers(streamed: str, citations: Sequence[Any]) -> str:
    """Markers of citations the streamed text does not show (verification re-cited a
    claim after its words went out), as a closing delta: " [1]"; "" when none."""
    shown = set(numbers(streamed))
    missing = sorted({c.marker for c in citations} - shown)
    return " " + "".join(f"[{n}]" for n in missing) if missing else ""
