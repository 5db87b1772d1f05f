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
from service.generation.attribution import led_in, strip_attribution
from service.generation.citations import claim_spans
from service.index.terms import content_terms
from service.records import EvidenceSpan, Passage, SentenceCheck
from service.verify.judge import BatchJudge, Judge
from service.verify.places import without_known_regions
from service.verify.speakers import misattributed, reported_speaker, reports_speech
from service.verify.support_features import claim_names
from service.verify.table import Evidence, SupportTable


@dataclass
class Verified:
    text: str
    checks: list[SentenceCheck]
    #: Set after a regeneration: the share supported in the model's first answer.
    first_faithfulness: float | None = None
    #: The text is a second answer the model gave after its first contradicted a passage.
    rewritten: bool = False

    @property
    def unsupported(self) -> list[SentenceCheck]:
        return [c for c in self.checks if not c.supported]

    @property
    def share_supported(self) -> float:
        """The share of this text's claims their citations support."""
        return (sum(c.supported for c in self.checks) / len(self.checks)) if self.checks else 1.0

    @property
    def faithfulness(self) -> float:
        """`share_supported` of the model's first answer."""
        if self.first_faithfulness is not None:
            return self.first_faithfulness
        return self.share_supported


def claim_of(sentence: str, labels: Iterable[str] = ()) -> str:
    """The claim itself: no markers, no "According to <source>," attribution (`labels`: the
    passages' source labels, so titles holding a colon are recognised), no quotes."""
    plain = wording.strip_unverified(markers.strip(sentence))
    return strip_attribution(plain, labels).strip(" “”\"")


#: The words of a sentence that only points at its sources ("This is stated in [2] and
#: [3].", "Both passages confirm it [1][2]."): it claims what the sentence before it claims.
_POINTER_WORDS = frozenset(content_terms(
    "this that it is was both also stated mentioned said reported confirmed noted shown "
    "given found written listed specified explained indicated described cited supported "
    "according sources source passages passage documents document information see"))


def with_pointers(claims: list[str]) -> list[str]:
    """Each sentence's claim, a pointer sentence's being the claim before it (checked
    against the pointer's own citations): "This is stated in both [2] and [3]." after a
    claim says that [2] and [3] hold that claim, which is what is checked."""
    out: list[str] = []
    previous = ""
    for claim in claims:
        terms = content_terms(claim)
        if previous and terms and set(terms) <= _POINTER_WORDS:
            out.append(previous)
            continue
        out.append(claim)
        if terms:
            previous = claim
    return out


def names_held(claim: str, passage: Passage) -> bool:
    """Every name in the claim (as the support features read names) is in the passage,
    its document's title or its outlet."""
    held = f"{passage.title} {passage.source or ''} {passage.text}".lower()
    return all(name in held for name in claim_names(claim))


def recitable(claim: str, cited: list[int], passages: list[Passage]) -> list[int]:
    """The passages (numbers from 1) a cited claim its citations do not support may move
    to: those that name everyone and everywhere it names. An uncited claim moves nowhere."""
    return [n for n in range(1, len(passages) + 1)
            if names_held(claim, passages[n - 1])] if cited else []


def _score_recitations(table: SupportTable, claims: list[tuple[str, list[int]]],
                       passages: list[Passage], threshold: float) -> None:
    """Score, in one batch, the passages every claim its citations leave unsupported may
    move to: the cells the sentence-by-sentence search reads next, in one call to the
    judge (one encoder batch, one head run) instead of one per claim and passage."""
    wanted = []
    for index, (claim, numbers) in enumerate(claims):
        cited = [n for n in numbers if 1 <= n <= len(passages)]
        if cited and table.score(index, cited) < threshold:
            wanted += [(index, n - 1) for n in recitable(claim, cited, passages)]
    table.ensure(wanted)


def evidence_of(passage: Passage) -> str:
    """What a citation vouches for: the passage, under its document's title. The title
    is context the passage leaves implicit ("the talks" of an article titled "... the
    first Istanbul talks"), and a claim restating it is supported."""
    return f"{passage.title}.\n{passage.text}"


def _table(claims: list[tuple[str, list[int]]], passages: list[Passage],
           checker: Judge) -> SupportTable | None:
    """A batch judge scores every claim against its cited passages in one batch."""
    if not isinstance(checker, BatchJudge) or not claims:
        return None
    return checker.table([c for c, _ in claims], [Evidence(p.text, p.title) for p in passages],
                         cited=[numbers for _, numbers in claims])


Spans = list[tuple[int, int, int]]  # (passage number, start, end): SupportTable.spans


def _evidence(spans: Spans, passages: list[Passage]) -> list[EvidenceSpan]:
    return [EvidenceSpan(doc_id=passages[n - 1].doc_id, start=passages[n - 1].start + start,
                         end=passages[n - 1].start + end, text=passages[n - 1].text[start:end])
            for n, start, end in spans]


def said_as(sentence: str, labels: list[str]) -> str:
    """The sentence as its writer attributes it: markers, marks and a lead-in naming its
    own source (one of `labels`) removed, a lead-in naming anyone else kept ("According
    to Merkel, …")."""
    plain = wording.strip_unverified(markers.strip(sentence))
    return strip_attribution(plain, labels, generic=False)


def attributable(own: str) -> bool:
    """A sentence (`said_as`) may be shown as a speaker's words: it quotes nothing (a
    quotation, an extractive or perspectives account keeps its wording) and does not say
    who said it ("NG reports that …", "According to Merkel, …")."""
    return not re.search("[“”\"]", own) and not reports_speech(own)


def _speaker(spans: Spans, passages: list[Passage], claim: str) -> str | None:
    """Who every passage supporting the claim reports as saying it (one speaker), if the
    claim does not say so (a claim one of them states in its own voice needs no
    speaker)."""
    speakers = {reported_speaker(claim, passages[n - 1].text, start, end)
                for n, start, end in spans}
    return speakers.pop() if len(speakers) == 1 else None


def _misattributed(spans: Spans, passages: list[Passage], own: str) -> bool:
    """The sentence (`said_as`) puts a passage's words in the mouth of somebody it does
    not name there (a conflict of names, so contradicted)."""
    return any(misattributed(own, passages[n - 1].text, start, end) is not None
               for n, start, end in spans)


def _check(claim: str, index: int, cited: list[int], score: float,
           action: Literal["kept", "recited", "marked", "dropped"],
           table: SupportTable | None, passages: list[Passage],
           policy: Literal["mark", "drop", "regenerate"], own: str) -> SentenceCheck:
    """The claim's verification row: verdict, evidence spans, and, from the spans of a
    supported claim, a speaker the sentence (as its writer attributes it, `own`) misnames
    (then contradicted) or may be shown as saying it. Speakers are not read from an
    uploaded document: its claims stay under its own name, whoever it says said them,
    and it cannot overrule the answer's own citation; nor from an index whose documents
    speak for themselves (index.toml `[verify] reported_speech = false`)."""
    supported = action in ("kept", "recited")
    verdict = table.verdict(index, cited) if table is not None else None
    spans = table.spans(index, cited) if table is not None else []
    by_speaker = supported and all(passages[n - 1].provenance != "uploaded"
                                   and passages[n - 1].reported_speech for n in cited)
    if by_speaker and _misattributed(spans, passages, own):
        supported, by_speaker, verdict = False, False, "contradicted"
        action = "dropped" if policy == "drop" else "marked"
    return SentenceCheck(
        sentence=claim, markers=cited, supported=supported, score=round(score, 4),
        action=action, verdict=verdict, evidence=_evidence(spans, passages),
        speaker=_speaker(spans, passages, claim) if by_speaker and attributable(own) else None)


def _rebuilt(sentence: str, claim: str, check: SentenceCheck, passages: list[Passage]) -> str:
    """The sentence with its repaired markers; attributed to the speaker its passage
    reports it from; marked when unsupported: contradicted (a warning) or not found (a
    soft note); the gap after it kept."""
    cited, gap = check.markers, sentence[len(sentence.rstrip()):]
    sentence = wording.strip_unverified(sentence)  # verified again: marked afresh below
    if check.speaker is not None:
        labels = list(dict.fromkeys(wording.passage_label(passages[n - 1]) for n in cited))
        sentence = led_in(wording.speaker_lead_in(check.speaker, labels), claim)
    rebuilt = markers.place(sentence, cited)
    if check.action == "marked":
        rebuilt = (wording.mark_contradicted(rebuilt) if check.verdict == "contradicted"
                   else wording.mark_unverified(rebuilt))
    return rebuilt + gap


def _claim_spans(text: str, labels: list[str]) -> list[tuple[int, int, str, str]]:
    """(start, end, claim, judged) of each sentence of the text: `judged` is the claim as
    the judges read it (a city's country is world knowledge, not the passage's to hold)."""
    found = claim_spans(text)
    plains = with_pointers([claim_of(text[start:end], labels) for start, end in found])
    return [(start, end, claim, without_known_regions(claim))
            for (start, end), claim in zip(found, plains, strict=True)]


def verify_text(text: str, passages: list[Passage], checker: Judge,
                policy: Literal["mark", "drop", "regenerate"]) -> Verified:
    checks: list[SentenceCheck] = []
    pieces: list[str] = []
    labels = list(dict.fromkeys(wording.passage_label(p) for p in passages))
    spans = _claim_spans(text, labels)
    claims = [(judged, markers.numbers(text[start:end])) for start, end, claim, judged in spans
              if content_terms(claim)]
    table = _table(claims, passages, checker)
    if table is not None:
        _score_recitations(table, claims, passages, checker.threshold)
    cursor = 0
    for start, end, claim, judged in spans:
        pieces.append(text[cursor:start])
        cursor = end
        sentence = text[start:end]
        if not content_terms(claim):
            pieces.append(sentence)
            continue
        index = len(checks)
        cited = [n for n in markers.numbers(sentence) if 1 <= n <= len(passages)]

        def support(numbers: list[int], judged: str = judged, index: int = index) -> float:
            if not numbers:
                return 0.0
            if table is not None:
                return table.score(index, numbers)
            return checker.score(judged, "\n".join(evidence_of(passages[n - 1])
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
            # supports it and names everyone and everywhere the claim names (a passage the
            # model did not choose needs more than a score: "Medinsky headed …" does not
            # move to a passage about the talks that never mentions him).
            scored = [(support([n]), n) for n in recitable(judged, cited, passages)]
            best_score, best = max(scored) if scored else (0.0, 0)
            if best_score >= checker.threshold:
                cited, score, action = [best], best_score, "recited"
            else:
                action = "dropped" if policy == "drop" else "marked"
        check = _check(claim, index, cited, score, action, table, passages, policy,
                       said_as(sentence, labels))
        checks.append(check)
        if check.action == "dropped":
            continue
        pieces.append(_rebuilt(sentence, claim, check, passages))
    pieces.append(text[cursor:])
    return Verified(text=re.sub(r"[ \t]{2,}", " ", "".join(pieces)).strip(), checks=checks)
