"""The answering pipeline: `ask(AskRequest) -> Answer`, the one thing every surface calls.

    condense ─▶ retrieve ─▶ generate ─▶ verify ─▶ compose
    (condense.py) (retrieve.py) (service/generation) (verify.py) (compose.py)

Built once at the edge (CLI command, API app, Slack bot, eval run) and handed to the
surface. `stream` runs the same stages and passes the generator's deltas through;
whole answers and streams share every decision. Which kind of answer (plain or each
source's account side by side) is a strategy chosen here, once per question.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from service.config import Settings
from service.errors import BadRequest, PayloadTooLarge
from service.generation import markers, wording
from service.generation.backends import BACKUP, GENERATORS
from service.generation.generators import Draft, GenerationInput, Generator, close_iterator
from service.generation.prompts import prompt
from service.generation.strategy import AnswerStrategy, PerspectivesAnswer, PlainAnswer
from service.pipeline.budget import PromptBudget
from service.pipeline.compose import ComposeStage
from service.pipeline.condense import CondenseStage
from service.pipeline.declined import QuoteDeclined
from service.pipeline.resources import Resources
from service.pipeline.retrieve import RetrieveStage
from service.pipeline.trace import Trace
from service.pipeline.verify import VerifyStage
from service.records import Answer, AskRequest
from service.retrieval.retriever import RetrievalResult
from service.verify.backends import JUDGES


@dataclass
class InFlight:
    """One question on its way through the stages."""

    request: AskRequest
    question: str
    index: str
    generator: Generator
    strategy: AnswerStrategy
    standalone: str
    retrieval: RetrievalResult
    job: GenerationInput
    trace: Trace


class Pipeline:
    def __init__(self, settings: Settings, resources: Resources | None = None) -> None:
        GENERATORS.get(settings.generator)  # a misconfigured server fails at start-up
        JUDGES.get(settings.verifier)
        self.settings = settings
        self.resources = resources or Resources(settings)
        self.condense = CondenseStage(settings.history_turns)
        self.retrieve = RetrieveStage(settings.min_support)
        self.budget = PromptBudget()
        self.verify = VerifyStage(self.resources.judge, settings.unsupported, settings.verify,
                                  settings.reread_contradicted)
        self.compose = ComposeStage()
        self.declined = QuoteDeclined(settings.quote_declined, settings.quote_declined_coverage)
        self._plain = PlainAnswer(settings.extractive_sentences)
        self._perspectives = PerspectivesAnswer(settings.top_k, settings.candidate_k,
                                                settings.min_support)

    def ask(self, request: AskRequest) -> Answer:
        flight = self._prepare(request)
        with flight.trace.stage("generate"):
            draft = self._early_draft(flight) or flight.generator.generate(flight.job)
            draft = self._quote_if_declined(flight, draft)
        return self._finish(flight, draft)

    def stream(self, request: AskRequest) -> Iterator[str | Answer]:
        """Text deltas as the generator writes them (invalid markers removed on the fly),
        then the final Answer, whose markers are the passage numbers the deltas used. A
        draft that was not streamed (extractive, perspectives, fallback) is sent whole,
        composed, as one delta; so is the answer to a model that declined with its
        NOT FOUND token (held back, not sent): the abstention, or the quotes shown
        instead. Closing the iterator early stops the LLM."""
        flight = self._prepare(request)
        t0 = time.perf_counter()
        early = self._early_draft(flight)
        items = iter([early]) if early else flight.generator.stream(flight.job)
        draft: Draft | None = None
        sent: list[str] = []
        held = ""  # what may be the model's NOT FOUND: sent once it is not
        try:
            for item in items:
                if isinstance(item, Draft):
                    draft = item
                elif item:
                    if not sent and wording.may_be_abstain_token(held + item):
                        held += item
                        continue
                    item, held = held + item, ""
                    flight.trace.mark("generate_first_token", t0)
                    sent.append(item)
                    yield item
        finally:  # closed early: stop the generator (and its LLM) now, not at collection
            close_iterator(items)
        assert draft is not None, "a generator's stream ends with its Draft"
        if held and not draft.abstained:  # "NOT" began a sentence after all
            sent.append(held)
            yield held
        quoted = self._quote_if_declined(flight, draft)
        flight.trace.mark("generate", t0)
        if not sent:  # the first words the reader gets are the composed answer's
            flight.trace.mark("generate_first_token", t0)
        answer = self._finish(flight, quoted)
        if quoted is not draft:  # the model declined in words that went out: quotes follow
            yield f"\n\n{answer.answer}" if sent else answer.answer
        elif not draft.streamed or not sent:
            yield answer.answer
        elif answer.revised:  # what went out contradicted its source: the second answer
            yield f"\n\n{prompt('reread_notice')} {answer.answer}"
        elif late := markers.late_markers("".join(sent), answer.citations):
            yield late  # cited by verification (an uncited claim re-cited): say so too
        yield answer

    def _prepare(self, request: AskRequest) -> InFlight:
        trace = Trace()
        question = self._check_question(request.question)
        index = request.index or self.settings.index
        retriever = self.resources.retriever(index)
        retriever.manifest()  # fail fast (unknown or unbuilt index) before any LLM call
        generator = self.resources.generator(request.generator or self.settings.generator)
        strategy = self._perspectives if request.perspectives else self._plain
        with trace.stage("condense"):
            condensed = self.condense.run(question, request.history, generator.chat)
        trace.usage.prompt_tokens += condensed.tokens
        with trace.stage("retrieve"):
            retrieval = self.retrieve.run(retriever, condensed.query, request.filters, strategy)
        passages = retrieval.passages
        if strategy.budgeted and generator.prompt_budget:
            with trace.stage("budget"):
                passages = self.budget.run(condensed.standalone, passages, retrieval.idf,
                                           generator.prompt_budget)
        job = GenerationInput(condensed.standalone, passages, retrieval.idf, strategy,
                              trace.usage)
        return InFlight(request, question, index, generator, strategy, condensed.standalone,
                        retrieval, job, trace)

    def _early_draft(self, flight: InFlight) -> Draft | None:
        """Abstain without a generator when the passages hold too little of the question."""
        if self.retrieve.answerable(flight.retrieval):
            return None
        return Draft("", abstained=True, generator=flight.generator.name)

    def _quote_if_declined(self, flight: InFlight, draft: Draft) -> Draft:
        """The passages' quotes in place of a model's decline (pipeline/declined.py), for
        a plain answer by an LLM that passed the retrieval gate; else the draft."""
        if flight.strategy is not self._plain or flight.generator.name == BACKUP or not (
                self.retrieve.answerable(flight.retrieval)):
            return draft
        job = GenerationInput(flight.standalone, flight.retrieval.passages,
                              flight.retrieval.idf, flight.strategy, flight.trace.usage)
        backup = self.resources.generator(BACKUP)
        quoted = self.declined.run(draft, flight.standalone, job, backup)
        if quoted is None:
            return draft
        flight.job, flight.generator = job, backup  # the quotes' passages and generator
        return quoted

    def _finish(self, flight: InFlight, draft: Draft) -> Answer:
        verified = None
        if not draft.abstained:
            with flight.trace.stage("verify"):
                verified = self.verify.run(flight.job, draft, flight.generator)
        passages = flight.job.passages  # as the generator read them: its markers' numbers
        composed = self.compose.text(draft, verified, passages, flight.strategy)
        flight.trace.finish()
        return self.compose.answer(composed, draft, verified, question=flight.question,
                                   standalone=flight.standalone, index=flight.index,
                                   passages=passages, retrieved=flight.retrieval.passages,
                                   trace=flight.trace)

    def _check_question(self, question: str) -> str:
        question = (question or "").strip()
        if not question:
            raise BadRequest("the question is empty")
        if len(question) > self.settings.max_question_chars:
            raise PayloadTooLarge(
                f"the question has {len(question)} characters; the limit is "
                f"{self.settings.max_question_chars} (RAG_MAX_QUESTION_CHARS)")
        try:
            question.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise BadRequest("the question is not valid Unicode text (a lone surrogate "
                             f"at character {exc.start})") from None
        return question
