"""Name the source of every cited sentence that does not name it already.

The collection's outlets hold opposed views, so a claim must read as somebody's claim:
"According to Izvestia, ... [2]". Small local models do not do this reliably when
asked, so it is done here, deterministically, from the citations each sentence carries.
"""

from __future__ import annotations

import re

from service.generation.citations import claim_spans
from service.records import Citation

_MARKER = re.compile(r"\[(\d+)\]")
_ATTRIBUTED = re.compile(r"\b(according to|reports?|reported|said|says|writes|wrote|claims?|"
                         r"told|states?|stated|argues?|notes?|noted)\b", re.I)
# First words that are not names, so they can be lower-cased after "According to X,".
_COMMON_OPENERS = frozenset(
    {
        "the", "a", "an", "this", "that", "these", "those", "it", "its", "there", "in", "on",
        "at", "for", "from", "by", "with", "during", "after", "before", "as", "both", "all",
        "some", "most", "many", "several", "no", "yes",
    }
)


def _label(citation: Citation) -> str:
    return citation.source or f"“{citation.title}”"


def attribute_sentences(text: str, citations: list[Citation]) -> str:
    by_marker = {c.marker: c for c in citations}
    pieces: list[str] = []
    cursor = 0
    for start, end in claim_spans(text):
        sentence = text[start:end]
        pieces.append(text[cursor:start])
        cursor = end
        labels = list(dict.fromkeys(
            _label(by_marker[int(m)]) for m in _MARKER.findall(sentence) if int(m) in by_marker
        ))
        names_source = any(label.strip("“”").lower() in sentence.lower() for label in labels)
        if labels and not names_source and not _ATTRIBUTED.search(sentence):
            first, _, rest = sentence.partition(" ")
            if first.lower() in _COMMON_OPENERS:
                first = first.lower()
            joined = " and ".join(labels) if len(labels) <= 2 else ", ".join(labels)
            trail = sentence[len(sentence.rstrip()):]
            sentence = f"According to {joined}, {first} {rest}".rstrip() + trail
        pieces.append(sentence)
    pieces.append(text[cursor:])
    return "".join(pieces)
