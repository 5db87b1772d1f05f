"""Stage 5, compose: the verified draft becomes the Answer every surface shows.

Markers renumbered [1], [2]… in order of first use (unless the text already went out
as a stream), each cited sentence attributed to its source, the strategy's note and
the fallback (or quoted) notice put in front; an answer left with no cited words is withheld
(its checks still say why).
"""

from __future__ import annotations

from dataclasses import dataclass

from service.generation import wording
from service.generation.attribution import attribute_sentences
from service.generation.citations import has_words, resolve_citations
from service.generation.generators import Draft
from service.generation.strategy import AnswerStrategy
from service.pipeline.trace import Trace
from service.records import Answer, Citation, Passage
from service.verify.verifier import Verified


@dataclass
class Composed:
    text: str
    citations: list[Citation]
    abstained: bool


class ComposeStage:
    def text(self, draft: Draft, verified: Verified | None, passages: list[Passage],
             strategy: AnswerStrategy) -> Composed:
        composed = Composed(wording.abstention(), [], abstained=True)
        if not draft.abstained and verified is not None:
            renumber = verified.rewritten or not draft.streamed  # not text already sent
            cited = resolve_citations(verified.text, passages, renumber=renumber)
            if cited.citations and has_words(cited.text):
                text = attribute_sentences(cited.text, cited.citations)
                if note := strategy.note(text, cited.citations):
                    text = wording.in_front(note, text)
                composed = Composed(text, cited.citations,
                                    abstained=False)
        if draft.replaced:
            composed.text = wording.with_fallback_notice(composed.text)
        elif draft.quoted and not composed.abstained:
            composed.text = wording.with_quoted_notice(composed.text)
        return composed

    def answer(self, composed: Composed, draft: Draft, verified: Verified | None, *,
               question: str, standalone: str, index: str, passages: list[Passage],
               retrieved: list[Passage], trace: Trace) -> Answer:
        checks = verified.checks if verified and not draft.abstained else []
        faithfulness = round(verified.faithfulness, 4) if (
            verified and checks and not composed.abstained) else None
        return Answer(answer=composed.text, abstained=composed.abstained,
                      citations=composed.citations, generator=draft.generator,
                      fallback=draft.fallback, verification=checks,
                      faithfulness=faithfulness,
                      revised=bool(verified and verified.rewritten and not composed.abstained),
                      quoted=draft.quoted and not composed.abstained,
                      question=question,
                      standalone_question=standalone, index=index, passages=passages,
                      retrieved=retrieved,
                      timings_ms=trace.timings_ms, usage=trace.usage_dict())
