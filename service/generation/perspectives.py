"""The `perspectives` answer: each source's account of the question, side by side.

"According to Izvestia: “…” [1]. NG (Nezavisimaya Gazeta) reports instead: “…” [3]."
Passages come grouped by source (service/retrieval/diversify.py). With an LLM, the
prompts/perspectives_*.md prompt asks for one attributed, cited sentence per source;
without one, each source's best-matching sentence is quoted. A later source's account
reads "also reports" when its sentence repeats the first account's words, else
"reports instead". Either way the text then goes through verification, citation repair
and attribution like any answer. When the answer cites a single source, a note says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from service.generation import markers, wording
from service.generation.attribution import label_of
from service.generation.chat import Message
from service.generation.citations import AUTO_CITE_MIN_SUPPORT, lexical_support, map_sentences
from service.generation.extractive import best_sentences
from service.generation.messages import passage_blocks
from service.generation.prompts import prompt
from service.records import Citation, Passage


def source_groups(passages: list[Passage]) -> dict[str, list[int]]:
    """Source label -> its passages' 1-based numbers, sources in order of first passage."""
    groups: dict[str, list[int]] = {}
    for number, passage in enumerate(passages, start=1):
        groups.setdefault(wording.passage_label(passage), []).append(number)
    return groups


def extractive_perspectives(question: str, passages: list[Passage],
                            idf: Callable[[str], float], min_coverage: float,
                            only: set[int] | None = None) -> str | None:
    """Each source's best-matching sentence, attributed and cited (passage-numbered
    markers); None when no source has a sentence holding `min_coverage` of the question."""
    accounts: list[tuple[str, int, str]] = []
    for label, numbers in source_groups(passages).items():
        allowed = set(numbers) & only if only is not None else set(numbers)
        quotes = best_sentences(question, passages, idf, 1, min_coverage, allowed)
        if quotes:
            accounts.append((label, quotes[0].number, quotes[0].sentence))
    if not accounts:
        return None
    first = accounts[0][2]
    lines = []
    for i, (label, number, sentence) in enumerate(accounts):
        if i == 0:
            template = "extractive_sentence"
        elif lexical_support(sentence, first) >= AUTO_CITE_MIN_SUPPORT:
            template = "perspective_also"
        else:
            template = "perspective_instead"
        lines.append(wording.account(template, label, sentence, number))
    return " ".join(lines)


def perspective_messages(question: str, passages: list[Passage]) -> list[Message]:
    """The LLM prompt: passages listed source by source, one sentence asked per source."""
    blocks = passage_blocks(passages)
    groups = source_groups(passages)
    sources = "\n".join(
        prompt("perspectives_source", label=label, markers=", ".join(f"[{n}]" for n in numbers))
        for label, numbers in groups.items())
    return [
        {"role": "system", "content": prompt("perspectives_system",
                                             abstain_token=wording.ABSTAIN_TOKEN)},
        {"role": "user", "content": prompt("perspectives_user", passages=blocks,
                                           sources=sources, question=question,
                                           first_source=next(iter(groups), ""))},
    ]


def keep_per_source(text: str, passages: list[Passage], limit: int) -> str:
    """Drop a model's sentences beyond `limit` per source (small models, asked for one per
    source, tend to copy out several passages of one); exact repeats go too. Markers are
    passage numbers; sentences without one are kept (verification judges them)."""
    seen: set[str] = set()
    per_source: dict[str, int] = {}

    def keep(sentence: str) -> str:
        labels = {wording.passage_label(passages[n - 1]) for n in markers.numbers(sentence)
                  if 1 <= n <= len(passages)}
        key = sentence.strip()
        if key in seen or (labels and all(per_source.get(lb, 0) >= limit for lb in labels)):
            return ""
        seen.add(key)
        for label in labels:
            per_source[label] = per_source.get(label, 0) + 1
        return sentence

    return re.sub(r"[ \t]{2,}", " ", map_sentences(text, keep)).strip()


def single_source_note(text: str, citations: list[Citation]) -> str | None:
    """"Only one of the sources found addresses this." when every citation of `text` comes
    from one source; the note names it unless the text already does."""
    labels = list(dict.fromkeys(label_of(c.source, c.title, c.provenance) for c in citations))
    if len(labels) != 1:
        return None
    named = labels[0].strip("“”").lower() in text.lower()
    return wording.single_source_note(None if named else labels[0])
