"""Check each sentence of an answer against the passages it cites, repair citations, and
apply the unsupported-sentence policy.

Works on passage-numbered markers ([n] = the n-th passage given to the generator), before
renumbering and attribution. Per claim sentence:
- supported by its citations: kept; a citation that alone does not support it while the
  others do is removed (it is not needed);
- not supported (or uncited) but another given passage supports it: re-cited to that one;
- otherwise unsupported: marked "(unverified)" or dropped, as the policy says.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from service.generation import markers, wording
from service.generation.attribution import strip_attribution
from service.generation.citations import claim_spans
from service.records import Passage, SentenceCheck
from service.retrieval.terms import content_terms
from service.verify.judge import Judge


@dataclass
class Verified:
    text: str
    checks: list[SentenceCheck]
    #: Set after a regeneration: the share supported in the model's first answer.
    first_faithfulness: float | None = None

    @property
    def unsupported(self) -> list[SentenceCheck]:
        return [c for c in self.checks if not c.supported]

    @property
    def faithfulness(self) -> float:
        if self.first_faithfulness is not None:
            return self.first_faithfulness
        return (sum(c.supported for c in self.checks) / len(self.checks)) if self.checks else 1.0


def claim_of(sentence: str, labels: Iterable[str] = ()) -> str:
    """The claim itself: no markers, no "According to <source>," attribution (`labels`: the
    passages' source labels, so titles holding a colon are recognised), no quotes."""
    plain = wording.strip_unverified(markers.strip(sentence))
    return strip_attribution(plain, labels).strip(" “”\"")


def evidence_of(passage: Passage) -> str:
    """What a citation vouches for: the passage, under its document's title. The title
    is context the passage leaves implicit ("the talks" of an article titled "... the
    first Istanbul talks"), and a claim restating it is supported."""
    return f"{passage.title}.\n{passage.text}"


def verify_text(text: str, passages: list[Passage], checker: Judge,
                policy: Literal["mark", "drop", "regenerate"]) -> Verified:
    checks: list[SentenceCheck] = []
    pieces: list[str] = []
    labels = list(dict.fromkeys(wording.passage_label(p) for p in passages))
    cursor = 0
    for start, end in claim_spans(text):
        pieces.append(text[cursor:start])
        cursor = end
        sentence = text[start:end]
        claim = claim_of(sentence, labels)
        if not content_terms(claim):
            pieces.append(sentence)
            continue
        cited = [n for n in markers.numbers(sentence) if 1 <= n <= len(passages)]

        def support(numbers: list[int], claim: str = claim) -> float:
            if not numbers:
                return 0.0
            return checker.score(claim, "\n".join(evidence_of(passages[n - 1])
                                                   for n in numbers))

        score = support(cited)
        action: Literal["kept", "recited", "marked", "dropped"] = "kept"
        if score >= checker.threshold:
            # ALCE precision: drop a citation that neither supports alone nor is needed.
            for n in list(cited):
                others = [m for m in cited if m != n]
                if others and support([n]) < checker.threshold and (
                        support(others) >= checker.threshold):
                    cited = others
        else:
            # Uncited claims stay unsupported; a cited one may move to a passage that
            # supports it.
            scored = [(support([n]), n) for n in range(1, len(passages) + 1)] if cited else []
            best_score, best = max(scored) if scored else (0.0, 0)
            if best_score >= checker.threshold:
                cited, score, action = [best], best_score, "recited"
            else:
                action = "dropped" if policy == "drop" else "marked"
        supported = action in ("kept", "recited")
        checks.append(SentenceCheck(sentence=claim, markers=cited, supported=supported,
                                    score=round(score, 4), action=action))
        if action == "dropped":
            continue
        rebuilt = markers.place(sentence, cited)
        if action == "marked":
            rebuilt = wording.mark_unverified(rebuilt)
        pieces.append(rebuilt + sentence[len(sentence.rstrip()):])  # keep the gap after it
    pieces.append(text[cursor:])
    return Verified(text=re.sub(r"[ \t]{2,}", " ", "".join(pieces)).strip(), checks=checks)
