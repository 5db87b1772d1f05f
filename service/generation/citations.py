"""Citation markers: keep the ones that point at a passage the model was given, drop the
rest, attach a marker to an uncited sentence when one passage clearly supports it, and
renumber [1], [2], ... in order of first use."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from service.generation import markers
from service.index.terms import content_terms
from service.ingest.chunk import split_sentences
from service.ingest.locations import locate
from service.records import Citation, Passage

_LEADING_MARKERS = re.compile(rf"\s*[”\"’)]*\s*(?:{markers.MARKER.pattern}\s*)+[.!?]?")
_MARKERS_AFTER_STOP = re.compile(rf"(?<=\w)([.!?])[ \t]*({markers.MARKER_RUN})")
_LIST_ITEM = re.compile(r"[ \t]*(?:[-*•]|\d{1,2}[.)])[ \t]+(?=\S)")
# A heading: a few words a heading is made of, with a colon, in bold or after "#"
# ("Key points:", "**Summary**", "## Sources"). Any other short line ending in a colon
# ("Putin agreed:") may be a claim: it is checked.
_HEADING = re.compile(r"\s*(?:#{1,6}\s+(?P<h>[^\n]*?)|\*\*(?P<b>[^*\n]+)\*\*:?|(?P<c>[^\n:]+):)\s*")
_HEADING_WORDS = frozenset("""key main points point summary sources source answer answers
details detail background overview notes note findings highlights facts fact timeline
context conclusion conclusions in short brief the a an of and to what who when where how
here is are this these that quick""".split())  # noqa: SIM905
# A list item left empty (its sentence dropped), and lines holding only spaces.
_EMPTY_ITEM = re.compile(r"^[ \t]*[-*•][ \t]*\n", re.M)
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([.,;:!?])")
#: An uncited sentence gets a marker when this share of its content words is in one passage.
AUTO_CITE_MIN_SUPPORT = 0.6
_MIN_CLAIM_WORDS = 3


@dataclass
class CitedText:
    text: str
    citations: list[Citation]
    removed_markers: int
    auto_cited: int


def has_words(text: str) -> bool:
    """Whether text says anything besides citation markers and punctuation."""
    return bool(content_terms(markers.strip(text)))


def lexical_support(sentence: str, passage_text: str) -> float:
    """Share of the sentence's distinct content words that occur in the passage (0..1)."""
    claim = set(content_terms(markers.strip(sentence)))
    if not claim:
        return 0.0
    return len(claim & set(content_terms(passage_text))) / len(claim)


def is_heading(sentence: str) -> bool:
    """A line that heads what follows and claims nothing ("Key points:")."""
    match = _HEADING.fullmatch(sentence)
    words = re.findall(r"\S+", next((g for g in match.groups() if g), "")) if match else []
    return 0 < len(words) <= 4 and all(w.lower() in _HEADING_WORDS for w in words)


def claim_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans, with the markers that trail a sentence (Punkt often puts a marker
    after a closing quote at the start of the next sentence) joined to that sentence, and
    without a list item's bullet ("- ", "2. "): a lead-in or a mark goes after it. A
    heading ("Key points:", "**Summary**", "## Sources") is no claim."""
    spans: list[tuple[int, int]] = []
    for start, end in split_sentences(text):
        lead = _LEADING_MARKERS.match(text, start, end)
        if spans and lead:
            spans[-1] = (spans[-1][0], lead.end())
            start = lead.end()
        if bullet := _LIST_ITEM.match(text, start, end):
            start = bullet.end()
        if text[start:end].strip() and not is_heading(text[start:end]):
            spans.append((start, end))
    return spans


def map_sentences(text: str, rewrite: Callable[[str], str]) -> str:
    """Text with each claim sentence replaced by `rewrite(sentence)`; the rest unchanged."""
    pieces: list[str] = []
    cursor = 0
    for start, end in claim_spans(text):
        pieces.append(text[cursor:start])
        pieces.append(rewrite(text[start:end]))
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


# Small models narrate their sources: "…, according to passage [1]." / "This information is
# found in passage [2]." / "According to the passage from [1], Trump said …". The marker is
# kept; the narration is not a claim and goes.
_SOURCE_WORDS = (r"(?:the\s+)?(?:(?:given|provided|above)\s+)?"
                 r"(?:passages?|sources?|texts?|documents?)")
_SOURCE_REF = rf"{_SOURCE_WORDS}(?:\s+(?:from|in|of|number|no\.))?\s*({markers.MARKER_RUN})"
_NARRATED_LEAD = re.compile(rf"^(\s*)(?:according to|as (?:stated|mentioned|reported) in|"
                            rf"as per|based on|in)\s+{_SOURCE_REF}\s*,?\s*", re.I)
_NARRATED_MARKER = re.compile(
    rf",?\s*\b(?:according to|as (?:stated|mentioned|reported) in|as per|see)\s+{_SOURCE_REF}",
    re.I)
_NARRATION_SENTENCE = re.compile(
    r"^\s*(?:this|the|that|these)\s+(?:information|statement|claim|fact|answer|detail)s?\s+"
    r"(?:is|are|was|can be|could be)\s+(?:found|mentioned|stated|supported|given|provided)"
    rf"\s+in\s+(?:passages?|sources?)?\s*({markers.MARKER_RUN})\s*\.?\s*$", re.I)


def _move_lead_marker(sentence: str) -> str:
    """"According to the passage from [1], Trump said X." -> "Trump said X [1]."."""
    lead = _NARRATED_LEAD.match(sentence)
    if not lead:
        return sentence
    rest = sentence[lead.end():]
    if not rest.strip():
        return sentence
    rest = rest[0].upper() + rest[1:]
    cited = markers.numbers(lead.group(2)) + markers.numbers(rest)
    return lead.group(1) + markers.place(rest, cited) + sentence[len(sentence.rstrip()):]


def drop_narration(text: str) -> str:
    """The text without sentences that only narrate where a claim is found ("This
    information is found in passage [2]."): each one's marker moves to the sentence before
    it. Everything between the other sentences (line breaks, a list's bullets) is kept."""
    text = map_sentences(text, _move_lead_marker)
    text = _NARRATED_MARKER.sub(r" \1", text)
    pieces: list[str] = []
    kept = -1  # index in pieces of the last sentence kept
    cursor = 0
    for start, end in claim_spans(text):
        gap, sentence, cursor = text[cursor:start], text[start:end], end
        if narration := _NARRATION_SENTENCE.match(sentence):
            if kept >= 0:  # its marker moves to the sentence it was narrating about
                previous = pieces[kept].rstrip()
                stop = previous[-1] if previous and previous[-1] in ".!?" else ""
                pieces[kept] = previous[: len(previous) - len(stop)] + narration.group(1) + stop
            continue
        pieces += [gap, sentence]
        kept = len(pieces) - 1
    return "".join([*pieces, text[cursor:]]).strip()


def tidy_lines(text: str) -> str:
    """Runs of spaces inside a line made one (indentation kept), empty list items and
    blank lines beyond one gone."""
    text = re.sub(r"(?<=\S)[ \t]{2,}", " ", text.replace("\r\n", "\n"))
    text = re.sub(r"^[ \t]+$", "", text, flags=re.M)
    text = _EMPTY_ITEM.sub("", text.rstrip() + "\n").rstrip()
    return re.sub(r"\n{3,}", "\n\n", text).lstrip("\n")


def resolve_citations(text: str, passages: list[Passage], renumber: bool = True) -> CitedText:
    """`renumber=False` keeps passage numbers as markers (text already streamed)."""
    text = drop_narration(markers.normalise(text))
    removed = 0

    def keep_valid(number: int) -> str:
        nonlocal removed
        if 1 <= number <= len(passages):
            return markers.marker(number)
        removed += 1
        return ""

    text = markers.collapse_repeats(markers.renumber(text, keep_valid))

    # Attach a marker to uncited claim sentences that one passage clearly supports.
    auto = 0

    def cite_if_supported(sentence: str) -> str:
        nonlocal auto
        words = len(set(content_terms(sentence)))
        if markers.has_marker(sentence) or not words:
            return sentence
        scores = [lexical_support(sentence, p.text) for p in passages]
        # A bare answer ("Medinsky.") is cited only where every word of it occurs.
        needed = AUTO_CITE_MIN_SUPPORT if words >= _MIN_CLAIM_WORDS else 1.0
        if not scores or max(scores) < needed:
            return sentence
        auto += 1
        return markers.place(sentence.rstrip(), [scores.index(max(scores)) + 1])

    text = map_sentences(text, cite_if_supported)

    # Renumber in order of first use.
    order: dict[int, int] = {}
    for n in markers.numbers(text):
        order.setdefault(n, len(order) + 1 if renumber else n)
    text = markers.renumber(text, lambda n: markers.marker(order[n]))
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", tidy_lines(text))
    text = re.sub(r"([^\s\]])\[", r"\1 [", text)
    # "…talks. [1]" -> "…talks [1]." so a marker sits inside the sentence it supports.
    text = _MARKERS_AFTER_STOP.sub(r" \2\1", text)
    citations = [
        Citation(marker=new, doc_id=p.doc_id, title=p.title, source=p.source, url=p.url,
                 text=p.text, start=p.start, end=p.end, provenance=p.provenance,
                 location=locate(p.sections, p.start, p.end))
        for old, new in sorted(order.items(), key=lambda kv: kv[1])
        for p in [passages[old - 1]]
    ]
    return CitedText(text=text, citations=citations, removed_markers=removed, auto_cited=auto)
