"""Citation markers: keep the ones that point at a passage the model was given, drop the
rest, attach a marker to an uncited sentence when one passage clearly supports it, and
renumber [1], [2], ... in order of first use."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from service.ingest.chunk import split_sentences
from service.records import Citation, Passage
from service.retrieval.terms import content_terms

_GROUP = re.compile(r"\[\s*(?:passages?|sources?|doc(?:ument)?s?)?\s*"
                    r"(\d+(?:\s*(?:,|;|and)\s*(?:passages?|sources?)?\s*\d+)*)\s*\]", re.I)
_SINGLE = re.compile(r"\[(\d+)\]")
_LEADING_MARKERS = re.compile(r"\s*[”\"’)]*\s*(\[\d+\]\s*)+[.!?]?")
_MARKERS_AFTER_STOP = re.compile(r"(?<=\w)([.!?])[ \t]*((?:\[\d+\])+)")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")
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
    return bool(content_terms(_SINGLE.sub("", _normalise_groups(text))))


def cited_numbers(text: str) -> list[int]:
    """Passage numbers the text cites, in order of first use."""
    return list(dict.fromkeys(int(n) for n in _SINGLE.findall(_normalise_groups(text))))


def lexical_support(sentence: str, passage_text: str) -> float:
    """Share of the sentence's distinct content words that occur in the passage (0..1)."""
    claim = set(content_terms(_SINGLE.sub("", sentence)))
    if not claim:
        return 0.0
    return len(claim & set(content_terms(passage_text))) / len(claim)


def claim_spans(text: str) -> list[tuple[int, int]]:
    """Sentence spans, with the markers that trail a sentence (Punkt often puts a marker
    after a closing quote at the start of the next sentence) joined to that sentence."""
    spans: list[tuple[int, int]] = []
    for start, end in split_sentences(text):
        lead = _LEADING_MARKERS.match(text, start, end)
        if spans and lead:
            spans[-1] = (spans[-1][0], lead.end())
            start = lead.end()
        if text[start:end].strip():
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


def _normalise_groups(text: str) -> str:
    def expand(match: re.Match[str]) -> str:
        return "".join(f"[{n}]" for n in re.findall(r"\d+", match.group(1)))

    return _GROUP.sub(expand, text)


# Small models narrate their sources: "…, according to passage [1]." / "This information is
# found in passage [2]." The marker is kept; the narration is not a claim and goes.
_NARRATED_MARKER = re.compile(
    r",?\s*\b(?:according to|as (?:stated|mentioned|reported) in|as per|see)\s+"
    r"(?:the\s+)?(?:passages?|sources?)\s*(\[\d+\])", re.I)
_NARRATION_SENTENCE = re.compile(
    r"^\s*(?:this|the|that|these)\s+(?:information|statement|claim|fact|answer|detail)s?\s+"
    r"(?:is|are|was|can be|could be)\s+(?:found|mentioned|stated|supported|given|provided)"
    r"\s+in\s+(?:passages?|sources?)?\s*((?:\[\d+\])+)\s*\.?\s*$", re.I)


def drop_narration(text: str) -> str:
    text = _NARRATED_MARKER.sub(r" \1", text)
    kept: list[str] = []
    for start, end in claim_spans(text):
        sentence = text[start:end]
        narration = _NARRATION_SENTENCE.match(sentence)
        if narration and kept:
            # Its marker moves to the sentence it was narrating about.
            previous = kept[-1].rstrip()
            stop = previous[-1] if previous and previous[-1] in ".!?" else ""
            kept[-1] = previous[: len(previous) - len(stop)] + narration.group(1) + stop
        elif not narration:
            kept.append(sentence)
    return " ".join(s.strip() for s in kept)


def resolve_citations(text: str, passages: list[Passage], renumber: bool = True) -> CitedText:
    """`renumber=False` keeps passage numbers as markers (text already streamed)."""
    text = drop_narration(_normalise_groups(text))
    removed = 0

    def keep_valid(match: re.Match[str]) -> str:
        nonlocal removed
        if 1 <= int(match.group(1)) <= len(passages):
            return match.group(0)
        removed += 1
        return ""

    text = _SINGLE.sub(keep_valid, text)
    text = re.sub(r"(\[\d+\])(\1)+", r"\1", text)  # [1][1] -> [1]

    # Attach a marker to uncited claim sentences that one passage clearly supports.
    auto = 0

    def cite_if_supported(sentence: str) -> str:
        nonlocal auto
        words = len(set(content_terms(sentence)))
        if _SINGLE.search(sentence) or not words:
            return sentence
        scores = [lexical_support(sentence, p.text) for p in passages]
        # A bare answer ("Medinsky.") is cited only where every word of it occurs.
        needed = AUTO_CITE_MIN_SUPPORT if words >= _MIN_CLAIM_WORDS else 1.0
        if not scores or max(scores) < needed:
            return sentence
        auto += 1
        marker = f" [{scores.index(max(scores)) + 1}]"
        stripped = sentence.rstrip()
        if stripped and stripped[-1] in ".!?":
            return stripped[:-1] + marker + stripped[-1]
        return stripped + marker

    text = map_sentences(text, cite_if_supported)

    # Renumber in order of first use.
    order: dict[int, int] = {}
    for n in (int(m) for m in _SINGLE.findall(text)):
        order.setdefault(n, len(order) + 1 if renumber else n)
    text = _SINGLE.sub(lambda m: f"[{order[int(m.group(1))]}]", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()
    text = re.sub(r"([^\s\]])\[", r"\1 [", text)
    # "…talks. [1]" -> "…talks [1]." so a marker sits inside the sentence it supports.
    text = _MARKERS_AFTER_STOP.sub(r" \2\1", text)
    citations = [
        Citation(marker=new, doc_id=p.doc_id, title=p.title, source=p.source, url=p.url,
                 text=p.text, start=p.start, end=p.end, provenance=p.provenance)
        for old, new in sorted(order.items(), key=lambda kv: kv[1])
        for p in [passages[old - 1]]
    ]
    return CitedText(text=text, citations=citations, removed_markers=removed, auto_cited=auto)
