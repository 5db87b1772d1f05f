"""Evidence sentence windows: what the support model reads next to a claim.

Stdlib only: the training scripts (tools/train_verifier) import this module too, so the
model is trained on exactly the windows it is shown at answer time. A window is one or
two consecutive sentences of a passage, with their character span in the passage text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# A sentence ends at . ! ? (optionally followed by a closing quote or bracket) before
# whitespace and an opening capital, digit or quote — or at a line break.
_BOUNDARY = re.compile(r"(?<=[.!?])([\"”’)\]]*)\s+(?=[\"“‘(\[A-Z0-9])|\n+")
# Abbreviations that end in a full stop without ending the sentence.
_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "gen", "col", "lt", "sgt", "gov",
    "sen", "rep", "u.s", "u.k", "e.g", "i.e", "vs", "no", "inc", "ltd", "co", "corp",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
})
# A person's initials: "M.K" of "M.K. Bhadrakumar"; not an acronym that may end a
# sentence ("… addressed the U.N. Russia walked out.", "… at 10 a.m. He …").
_INITIALS = re.compile(r"(?:[A-Z]\.){1,3}[A-Z]")
_ACRONYMS = frozenset({"u.n", "d.c", "u.s.a", "a.d", "b.c", "e.u", "u.a.e", "u.s.s.r"})
WINDOW_SENTENCES = 2
#: Evidence this short is read whole, as one window.
WHOLE_WORDS = 60


@dataclass(frozen=True)
class Window:
    text: str
    start: int  # offsets in the text the window was cut from
    end: int


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence of `text`, stripped of surrounding whitespace."""
    spans: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        stop = match.start() + len(match.group(1) or "")
        before = text[start:stop].rstrip()
        token = before.rsplit(None, 1)[-1].rstrip(".") if before.split() else ""
        last = token.lower()
        quote_follows = text[match.end():match.end() + 1] in "“\"‘"
        if match.group().strip() == "" and "\n" not in match.group() and not quote_follows and (
                last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha()) or (
                    _INITIALS.fullmatch(token) and last not in _ACRONYMS)):
            continue  # "Mr. Smith", "J. Smith", "M.K. Bhadrakumar": not a boundary
            # (but "… the U.S. “We are ready,” Lavrov said" is one: a quotation opens)
        spans.append((start, stop))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        piece = text[s:e]
        lead = len(piece) - len(piece.lstrip())
        trail = len(piece.rstrip())
        if piece.strip():
            out.append((s + lead, s + trail))
    return out


def windows(text: str, size: int = WINDOW_SENTENCES) -> list[Window]:
    """Every run of `size` consecutive sentences (the whole text if it has fewer sentences
    or at most WHOLE_WORDS words)."""
    spans = sentence_spans(text)
    if len(spans) <= size or len(text.split()) <= WHOLE_WORDS:
        return [Window(text.strip(), spans[0][0], spans[-1][1])] if spans else []
    return [Window(text[spans[i][0]:spans[i + size - 1][1]], spans[i][0], spans[i + size - 1][1])
            for i in range(len(spans) - size + 1)]


def with_title(title: str | None, window: str) -> str:
    """The window as the model reads it: under its document's title, when there is one."""
    return f"{title.strip().rstrip('.')}. {window}" if title and title.strip() else window


def sentences_of(text: str) -> list[str]:
    """The units a text is encoded in: its sentences."""
    return [text[s:e] for s, e in sentence_spans(text)] or [text]


def window_units(window: str, title: str | None) -> list[str]:
    """The units of a window shown under `title`: the title on its own, then the window's
    sentences. Split as one text, a title ending in an abbreviation ("…with the U.S.")
    would be glued to the window's first sentence: a unit no warm-up has cached, encoded
    anew for every answer citing it."""
    head = with_title(title, "") if title else ""
    if head and window.startswith(head):
        return [*sentences_of(head), *sentences_of(window[len(head):])]
    return sentences_of(window)


#: The cross-encoder's windows (service/verify/cross_encoder.py) are longer: it reads a
#: claim and its evidence together, so each window costs a transformer pass of its own,
#: and fewer, longer windows cost less than many two-sentence ones.
READING_WORDS = 80


def reading_windows(text: str, words: int = READING_WORDS) -> list[Window]:
    """Consecutive sentences packed into windows of at most `words` words (a longer
    sentence is a window alone); each window after the first starts with the last
    sentence of the one before, so two neighbouring sentences are always read together."""
    spans = sentence_spans(text)
    if not spans:
        return []
    counts = [len(text[s:e].split()) for s, e in spans]
    out: list[Window] = []
    i = 0
    while True:
        j, total = i + 1, counts[i]
        while j < len(spans) and total + counts[j] <= words:
            total += counts[j]
            j += 1
        out.append(Window(text[spans[i][0]:spans[j - 1][1]], spans[i][0], spans[j - 1][1]))
        if j >= len(spans):
            return out
        i = j - 1 if j - 1 > i else j
