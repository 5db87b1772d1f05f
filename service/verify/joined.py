"""A claim two given passages support together: a detail the answer restates from the
question (the user's premise) that its cited passage lacks and another passage holds.

"Who represented the United States at the Ramstein meeting in June?" - the model answers
"Matthew Whitaker represented the United States at the Ramstein meeting in June [1]".
Passage 1 says who represented it and never says June; passage 3 says "the Ramstein
meeting (which took place on June 4)". Flagging the sentence cries wolf; passing it as
supported by [1] alone would vouch for a detail [1] does not hold. Joined, it cites both.

All of these must hold, or the sentence stays unsupported:
- the borrowed details are names, numbers or calendar words (at most MAX_DETAILS) that
  the question holds and the cited passage lacks;
- nothing in the claim conflicts with the cited passage (its verdict is not
  "contradicted": "Umerov headed the *Russian* delegation" against "Umerov headed the
  Ukrainian delegation" borrows "Russian" from the question, and stays a warning);
- the claim without the borrowed details is supported by the cited passage;
- one sentence of another given passage holds every borrowed detail beside a word the
  claim puts next to them (the same meeting, the same call), and that passage does not
  contradict the claim.
Measured against seeded errors that put a question's detail in place of the passage's,
with every retrieved passage given (docs/benchmarks.md, "Verifier (issue 13)").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.records import EvidenceSpan, Passage
from service.verify.support_features import (
    content_words,
    dates,
    names,
    numbers,
    rare_first_name,
)
from service.verify.table import Evidence, SupportTable
from service.verify.windows import sentence_spans

MAX_DETAILS = 3  # tokens: "March 18" is two, "June 4, 2025" three
_TOKEN = re.compile(r"\w+(?:[-’']\w+)*")
_CUT = "\x00"
_GAP = re.compile(r"[\s,]*")
# A preposition whose phrase the cut run ends ("in June.", "on June 4, …").
_ENDS_PHRASE = re.compile(r"\b(?:[Ii]n|[Oo]n|[Aa]t|[Oo]f|[Ss]ince|[Uu]ntil|[Bb]y|[Dd]uring|"
                          rf"[Ff]rom|[Ff]or)\s+{_CUT}(?:\s*,|(?=\s*[.;:!?]|$))\s*")


@dataclass(frozen=True)
class Joined:
    markers: list[int]  # the cited passage, then the one holding the borrowed details
    score: float  # P(supported) of the claim without the details, by the cited passage
    evidence: list[EvidenceSpan]


class Claim:
    """A claim's detail tokens (names, numbers, months and weekdays) with their spans."""

    def __init__(self, text: str) -> None:
        self.text = text
        named = names(text, first=True) | rare_first_name(text)
        calendar = {d.lower() for d in dates(text)}
        self.tokens = [m for m in _TOKEN.finditer(text) if m.group().lower() in named | calendar
                       or (m.group()[0].isdigit() and m.group() in numbers(text))]

    def missing(self, text: str) -> list[re.Match[str]]:
        """Detail tokens the text does not hold."""
        held, figures = text.lower(), numbers(text)
        return [m for m in self.tokens
                if (m.group() not in figures if m.group()[0].isdigit()
                    else not re.search(rf"\b{re.escape(m.group().lower())}\b", held))]

    def without(self, tokens: list[re.Match[str]]) -> str:
        """The claim with these tokens cut out: a run of them (with the commas and spaces
        between: "June 4, 2025") goes with a preposition it ends the phrase of ("… meeting
        in June." -> "… meeting."; "They met on June 4, in Istanbul." -> "They met in
        Istanbul.") or the comma before it ("in Jeddah, Saudi Arabia.")."""
        out, cursor = [], 0
        for m in sorted(tokens, key=lambda m: m.start()):
            gap = self.text[cursor:m.start()]
            out.append(_GAP.sub("", gap) if out and out[-1] == _CUT and _GAP.fullmatch(gap)
                       else gap)
            out.append(_CUT)
            cursor = m.end()
        out.append(self.text[cursor:])
        text = re.sub(f"{_CUT}+", _CUT, "".join(out))
        text = _ENDS_PHRASE.sub("", text)
        text = re.sub(rf",\s*{_CUT}(?=\s*[.;:!?]|$)", "", text)
        text = re.sub(rf"{_CUT}\s*", "", text)
        text = re.sub(r"\s{2,}", " ", re.sub(r"\s+([,.;:!?])", r"\1", text)).strip(" ,")
        return text[:1].upper() + text[1:]

    def beside(self, tokens: list[re.Match[str]], reach: int = 3) -> set[str]:
        """The nearest content word of the claim on each side of each borrowed token,
        within `reach` words and not itself borrowed: what the detail is about ("the
        Ramstein *meeting* in June"; "mentioned *alongside* Rubio", not the "Ukraine"
        further off)."""
        words = list(_TOKEN.finditer(self.text))
        taken = {m.start() for m in tokens}
        at = [i for i, w in enumerate(words) if w.start() in taken]
        found: set[str] = set()
        for j in at:
            for step in (-1, 1):
                for i in range(j + step, j + step * (reach + 1), step):
                    if not 0 <= i < len(words) or i in at:
                        continue
                    if near := content_words(words[i].group()):
                        found |= near
                        break
        return found


def _holder(details: list[str], about: set[str], passage: Passage) -> tuple[int, int] | None:
    """The span of the passage's first sentence holding every detail and a word of
    `about`."""
    for start, end in sentence_spans(passage.text):
        sentence = passage.text[start:end]
        if about & content_words(sentence) and not Claim(" ".join(details)).missing(sentence):
            return start, end
    return None


def join(claim: str, question: str, cited: list[int], passages: list[Passage],
         table: SupportTable, index: int, judge: object) -> Joined | None:
    """The claim supported by a cited passage and another given passage together, if it
    is (the module's conditions); `table`/`index`: the claim's row of the answer's
    table, `judge`: the batch judge that filled it."""
    if table.verdict(index, cited) == "contradicted":
        return None
    parsed = Claim(claim)
    asked = Claim(claim).missing(question)  # details the question lacks
    for n in cited:
        passage = passages[n - 1]
        missing = parsed.missing(f"{passage.title} {passage.text}")
        if not missing or len(missing) > MAX_DETAILS or any(
                m.start() in {a.start() for a in asked} for m in missing):
            continue
        stripped = parsed.without(missing)
        about = parsed.beside(missing)
        if len(content_words(stripped)) < 2 or not about:
            continue
        details = [m.group() for m in missing]
        for m, other in enumerate(passages, 1):
            span = None if m in cited else _holder(details, about, other)
            if span is None:
                continue
            checks = judge.table(  # type: ignore[attr-defined]
                [stripped, claim], [Evidence(passage.text, passage.title),
                                    Evidence(other.text, other.title)], cited=[[1], [2]])
            if checks.verdict(0, [1]) != "supported" or checks.verdict(1, [2]) == "contradicted":
                continue
            spans = [EvidenceSpan(doc_id=passage.doc_id, start=passage.start + s,
                                  end=passage.start + e, text=passage.text[s:e])
                     for _, s, e in checks.spans(0, [1])]
            start, end = span
            spans.append(EvidenceSpan(doc_id=other.doc_id, start=other.start + start,
                                      end=other.start + end, text=other.text[start:end]))
            return Joined([n, m], checks.score(0, [1]), spans)
    return None
