"""Name the source of every cited sentence that does not name it already.

The collection's outlets hold opposed views, so a claim must read as somebody's claim:
"According to Izvestia, ... [2]". Small local models do not do this reliably when
asked, so it is done here, deterministically, from the citations each sentence carries.
A sentence cited to passages from several sources names all of them ("According to
Izvestia and NG, ..."); one that names only some of them in its lead-in gets the rest.

`strip_attribution` is the inverse, used wherever a sentence is checked against its
passages: the lead-in says who claims something, it is not part of the claim (the
source's name or title words are usually not in the passage).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from service.generation import markers, wording
from service.generation.citations import map_sentences
from service.records import Citation, Origin

_ATTRIBUTED = re.compile(r"\b(according to|reports?|reported|said|says|writes|wrote|claims?|"
                         r"told|states?|stated|argues?|notes?|noted)\b", re.I)
# First words that are not names, so they can be lower-cased after "According to X,".
_COMMON_OPENERS = frozenset(
    {
        "the", "a", "an", "this", "that", "these", "those", "it", "its", "there", "in", "on",
        "at", "for", "from", "by", "with", "during", "after", "before", "as", "both", "all",
        "some", "most", "many", "several", "no", "yes", "and", "but",
    }
)


def label_of(source: str | None, title: str, provenance: Origin = "bundled") -> str:
    """How answers name a document (wording.source_label): the outlet when known, else the
    title in quotes; '(uploaded)' after an uploaded document's."""
    return wording.source_label(source, title, provenance)


def _opener(word: str) -> str:
    """A sentence's first word as it reads after a lead-in: a common opener lowercased
    ("The", "Yes," → "According to A, the …", "According to A, yes, …"), a name kept."""
    return word.lower() if word.rstrip(",;:").lower() in _COMMON_OPENERS else word


def led_in(lead: str, claim: str) -> str:
    """The claim after a lead-in: "According to A," + "The talks …" → "According to A,
    the talks …"."""
    first, _, rest = claim.partition(" ")
    return f"{lead} {_opener(first)} {rest}".rstrip()


def _label(citation: Citation) -> str:
    return label_of(citation.source, citation.title, citation.provenance)


def _force_uploaded_label(sentence: str, cited: list[Citation]) -> str | None:
    """A sentence citing an uploaded document must name it as uploaded, whatever lead-in
    the model wrote ("According to “X”, …" becomes "According to “X” (uploaded), …")."""
    labels = list(dict.fromkeys(_label(c) for c in cited))
    missing = [c for c in cited if c.provenance == "uploaded"
               and _label(c).lower() not in sentence.lower()]
    if not missing:
        return None
    bare = [label_of(c.source, c.title) for c in cited]
    return led_in(wording.lead_in(labels), strip_attribution(sentence, labels + bare))


def _attribution_patterns(
        labels: Iterable[str]) -> tuple[re.Pattern[str], re.Pattern[str]] | None:
    """For these labels: the lead-ins the service writes ("According to A[ and B]," /
    "According to A:", "A reports instead:", "A also reports:") and a model's trailing
    ", according to A." Labels are matched whole, so a title holding a colon or comma
    ("Point of no return: ...") is no problem."""
    names = sorted({label.strip("“”") for label in labels}, key=len, reverse=True)
    if not names:
        return None
    # A title may come quoted, and a model may put the comma inside: “Title,” ...
    one = "[“\"]?(?:" + "|".join(re.escape(n) for n in names) + ")[”\"]?"
    many = rf"{one}(?:(?:, | and ){one})*"
    lead = re.compile(wording.lead_in_pattern(many), re.I)
    trail = re.compile(rf",?\s+(?:according to|as reported by) {many}[,]?(?=\s*[.!?]?\s*$)",
                       re.I)
    return lead, trail


def strip_attribution(sentence: str, labels: Iterable[str] = (), generic: bool = True) -> str:
    """The sentence without a leading "According to <source>," (or "<source> reports
    instead:"), or a trailing ", according to <source>" — who makes the claim, not the
    claim. `generic`: also a lead-in of our shape naming someone not in `labels` (a
    model's "According to Merkel, …")."""
    lead_in = re.compile(wording.generic_lead_in_pattern() if generic else "(?!)")
    patterns = _attribution_patterns(labels)
    if patterns is None:
        return lead_in.sub("", sentence)
    lead, trail = patterns
    if match := lead.match(sentence):
        return sentence[match.end():]
    stripped = trail.sub("", sentence)
    return stripped if stripped != sentence else lead_in.sub("", sentence)


def attribute_sentences(text: str, citations: list[Citation]) -> str:
    by_marker = {c.marker: c for c in citations}

    marks = (wording.unverified_mark(), wording.contradicted_mark())

    def attribute(sentence: str) -> str:
        for mark in marks:  # the verifier's mark stays in front
            if sentence.startswith(f"{mark} "):
                return f"{mark} {attribute(sentence[len(mark) + 1:])}"
        cited = [by_marker[n] for n in markers.numbers(sentence) if n in by_marker]
        labels = list(dict.fromkeys(_label(c) for c in cited))
        if not labels:
            return sentence
        if (forced := _force_uploaded_label(sentence, cited)) is not None:
            return forced
        lowered = sentence.lower()
        named = [label for label in labels if label.strip("“”").lower() in lowered]
        claim = strip_attribution(sentence, labels)
        if named and claim != sentence and len(named) < len(labels) and (
                sentence.startswith(wording.lead_in_prefix())):
            # "According to A, ... [1][3]" where [3] is B's: name both.
            return f"{wording.lead_in(labels)} {claim}"
        if named or _ATTRIBUTED.search(sentence):
            return sentence
        return led_in(wording.lead_in(labels), sentence) + sentence[len(sentence.rstrip()):]

    return map_sentences(text, attribute)
