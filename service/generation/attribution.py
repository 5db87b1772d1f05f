"""Name the source of every cited sentence that does not name it already.

The collection's outlets hold opposed views, so a claim must read as somebody's claim:
"According to Izvestia, ... [2]". Small local models do not do this reliably when
asked, so it is done here, deterministically, from the citations each sentence carries.
"""

from __future__ import annotations

import re

from service.generation.citations import map_sentences
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

    def attribute(sentence: str) -> str:
        labels = list(dict.fromkeys(
            _label(by_marker[int(m)]) for m in _MARKER.findall(sentence) if int(m) in by_marker
        ))
        names_source = any(label.strip("“”").lower() in sentence.lower() for label in labels)
        if not labels or names_source or _ATTRIBUTED.search(sentence):
            return sentence
        first, _, rest = sentence.partition(" ")
        if first.lower() in _COMMON_OPENERS:
            first = first.lower()
        joined = " and ".join(labels) if len(labels) <= 2 else ", ".join(labels)
        trail = sentence[len(sentence.rstrip()):]
        return f"According to {joined}, {first} {rest}".rstrip() + trail

    return map_sentences(text, attribute)
