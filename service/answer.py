"""The answering service: `ask(question, history, filters) -> Answer`.

Every surface (CLI, HTTP API, Slack, eval) is a thin adapter over `AnswerService.ask`.
Steps: condense a follow-up into a standalone question -> retrieve passages -> abstain
early when they hold too little of the question -> generate (LLM with numbered
passages, or extractive) -> verify each sentence against its citations -> repair and
renumber markers -> attribute -> Answer. If the LLM is down or times out, the extractive
answer is returned, labelled. `perspectives=True` asks for each source's account side by
side (service/generation/perspectives.py) instead of one answer.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from service.config import GeneratorName, Settings
from service.errors import BadRequest, LLMUnavailable, ModelNotInstalled, PayloadTooLarge
from service.evaluation.judges import Judge, make_judge
from service.generation.attribution import attribute_sentences
from service.generation.citations import cited_numbers, has_words, resolve_citations
from service.generation.condense import (
    condense_question,
    heuristic_standalone,
    looks_like_follow_up,
)
from service.generation.extractive import extractive_answer
from service.generation.llm import ChatLLM, Message, make_llm
from service.generation.perspectives import (
    extractive_perspectives,
    keep_per_source,
    perspective_messages,
    single_source_note,
)
from service.generation.prompts import prompt
from service.generation.streaming import MarkerFilter
from service.index.config import load_index_config
from service.records import Answer, Filters, Passage, SentenceCheck, Turn
from service.retrieval.diversify import by_source
from service.retrieval.retriever import RetrievalResult, Retriever
from service.verify.verifier import Verified, verify_text

_MARKERS = re.compile(r"\[\d+\]")
#: Passages per source given to a perspectives answer, and LLM sentences kept per source.
PERSPECTIVE_PASSAGES_PER_SOURCE = 2
PERSPECTIVE_SENTENCES_PER_SOURCE = 2
#: What the model is told to write when the passages do not answer the question.
ABSTAIN_TOKEN = "NOT FOUND"
_STRAY_ABSTAIN = re.compile(rf"(?<![^\s.!?\]]){ABSTAIN_TOKEN}\.?(?=\s|$)")
# Ways small models say "not in the sources" instead of the exact abstain sentence.
_ABSTAIN_PHRASES = re.compile(
    r"\b(passages?|sources?|documents?|context|provided (text|information))\b[^.]{0,60}\b"
    r"(do|does|did)\s*(not|n't)\s+(contain|mention|provide|say|include|specify|state)", re.I)


@dataclass
class _Draft:
    """Generator output with passage-numbered markers, before citation repair."""

    text: str
    abstained: bool
    generator: str
    fallback: str | None = None


@dataclass
class _Turn:
    """One question on its way through the service."""

    question: str
    index: str
    generator: str
    started: float
    perspectives: bool = False
    standalone: str = ""
    llm: ChatLLM | None = None
    fallback: str | None = None
    retrieval: RetrievalResult = field(default=None)  # type: ignore[assignment]
    timings: dict[str, float] = field(default_factory=dict)
    usage: dict[str, int] = field(
        default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0})


class AnswerService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._retrievers: dict[str, Retriever] = {}
        self._llms: dict[str, ChatLLM] = {}
        self._checker: Judge | None = None
        self._lock = threading.Lock()

    def retriever(self, index: str) -> Retriever:
        with self._lock:
            if index not in self._retrievers:
                config = load_index_config(self.settings, index)
                self._retrievers[index] = Retriever(config, self.settings)
            return self._retrievers[index]

    def llm(self, generator: str) -> ChatLLM:
        with self._lock:
            if generator not in self._llms:
                self._llms[generator] = make_llm(generator, self.settings)
            return self._llms[generator]

    def ask(self, question: str, history: list[Turn] | None = None,
            filters: Filters | None = None, index: str | None = None,
            generator: GeneratorName | None = None, perspectives: bool = False) -> Answer:
        """`perspectives`: set out each source's account side by side ("According to A:
        …; B reports instead: …"), from the best passages of every source."""
        turn = self._prepare(question, history, filters, index, generator, perspectives)
        t0 = time.perf_counter()
        draft = self._generate(turn)
        turn.timings["generate"] = _ms(t0)
        return self._finish(turn, draft, renumber=True)

    def ask_stream(self, question: str, history: list[Turn] | None = None,
                   filters: Filters | None = None, index: str | None = None,
                   generator: GeneratorName | None = None,
                   perspectives: bool = False) -> Iterator[str | Answer]:
        """Text deltas as the LLM writes them (invalid markers removed on the fly), then the
        final Answer. Its markers are the passage numbers the deltas used, so the streamed
        text and the citations agree; `Answer.answer` additionally carries attribution.
        Closing the iterator early stops the LLM. A perspectives answer is not streamed
        token by token: it is composed, verified and attributed first, then yielded whole
        (one delta), because its sentences are reordered and prefixed per source."""
        if perspectives:
            answer = self.ask(question, history, filters, index, generator, perspectives=True)
            yield answer.answer
            yield answer
            return
        turn = self._prepare(question, history, filters, index, generator)
        t0 = time.perf_counter()
        passages = turn.retrieval.passages
        if turn.llm is None or not passages or turn.retrieval.coverage < self.settings.min_support:
            draft = self._generate(turn)
            final = self._finish(turn, draft, renumber=False)
            yield final.answer
            yield final
            return
        markers = MarkerFilter(len(passages))
        parts: list[str] = []
        try:
            for delta in turn.llm.stream(build_messages(turn.standalone, passages),
                                         self.settings.llm_max_tokens):
                if "generate_first_token" not in turn.timings:
                    turn.timings["generate_first_token"] = _ms(t0)
                parts.append(delta)
                if out := markers.feed(delta):
                    yield out
            if out := markers.flush():
                yield out
            text = "".join(parts)
            draft = _Draft(text, abstained=is_abstention(text), generator=turn.generator)
        except LLMUnavailable as exc:
            if parts:  # the stream broke mid-answer: keep what was said, say why it stopped
                draft = _Draft("".join(parts), abstained=False, generator=turn.generator,
                               fallback=f"answer cut short: {exc}")
            else:
                draft = self._extractive(turn, fallback=str(exc))
                yield f"{prompt('fallback_notice')} "
        turn.timings["generate"] = _ms(t0)
        final = self._finish(turn, draft, renumber=False)
        if draft.generator == "extractive":
            yield final.answer.removeprefix(prompt("fallback_notice")).lstrip()
        yield final

    def _prepare(self, question: str, history: list[Turn] | None, filters: Filters | None,
                 index: str | None, generator: GeneratorName | None,
                 perspectives: bool = False) -> _Turn:
        started = time.perf_counter()
        question = self._validate(question)
        index = index or self.settings.index
        generator = generator or self.settings.generator
        history = history or []
        retriever = self.retriever(index)
        retriever.snapshot()  # fail fast (unknown or unbuilt index) before any LLM call
        turn = _Turn(question=question, index=index, generator=generator, started=started,
                     perspectives=perspectives)
        if generator != "extractive":
            try:
                turn.llm = self.llm(generator)
            except (LLMUnavailable, ModelNotInstalled) as exc:
                turn.fallback = str(exc)

        t0 = time.perf_counter()
        turn.standalone, condense_tokens = condense_question(
            question, history, turn.llm, self.settings.history_turns)
        turn.usage["prompt_tokens"] += condense_tokens
        turn.timings["condense"] = _ms(t0)

        t0 = time.perf_counter()
        # A rewrite that still leans on the conversation retrieves with its context.
        query = heuristic_standalone(turn.standalone, history) if (
            history and looks_like_follow_up(turn.standalone)) else turn.standalone
        if perspectives:
            # Every source's best passages, not the overall top k (often one article's).
            wide = retriever.retrieve(query, filters, top_k=self.settings.candidate_k)
            turn.retrieval = replace(wide, passages=by_source(
                wide.passages, query, wide.idf, self.settings.top_k,
                PERSPECTIVE_PASSAGES_PER_SOURCE, self.settings.min_support))
        else:
            turn.retrieval = retriever.retrieve(query, filters)
        turn.timings["retrieve"] = _ms(t0)
        return turn

    def _finish(self, turn: _Turn, draft: _Draft, renumber: bool) -> Answer:
        fallback = turn.fallback or draft.fallback
        abstained = draft.abstained
        passages = turn.retrieval.passages
        checks: list[SentenceCheck] = []
        faithfulness: float | None = None
        text = prompt("abstain")
        if not abstained:
            t0 = time.perf_counter()
            verified = self._verify(turn, draft, streamed=not renumber)
            turn.timings["verify"] = _ms(t0)
            if verified is None:
                abstained = True  # no supported citation at all: the answer is not shown
            else:
                checks = verified.checks
                faithfulness = round(verified.faithfulness, 4) if checks else None
                cited = resolve_citations(verified.text, passages, renumber)
                if cited.citations and has_words(cited.text):
                    text = attribute_sentences(cited.text, cited.citations)
                    if turn.perspectives and (note := single_source_note(text, cited.citations)):
                        text = f"{note} {text}"
                else:
                    # Every sentence was dropped as unsupported: the answer is withheld,
                    # its checks still say why.
                    abstained = True
        if fallback and draft.generator == "extractive":
            text = f"{prompt('fallback_notice')} {text}"
        turn.timings["total"] = _ms(turn.started)
        return Answer(
            answer=text, abstained=abstained,
            citations=[] if abstained else cited.citations,
            generator=draft.generator, fallback=fallback, question=turn.question,
            standalone_question=turn.standalone, index=turn.index, timings_ms=turn.timings,
            usage=turn.usage, passages=passages, verification=checks,
            faithfulness=None if abstained else faithfulness,
        )

    def _verify(self, turn: _Turn, draft: _Draft, streamed: bool) -> Verified | None:
        """Passage-numbered, verified text, or None when nothing cited survives."""
        passages = turn.retrieval.passages
        policy = self.settings.unsupported
        cited = resolve_citations(draft.text, passages, renumber=False)
        if turn.perspectives:  # side by side: a few sentences per source, not a copy-out
            cited.text = keep_per_source(cited.text, passages, PERSPECTIVE_SENTENCES_PER_SOURCE)
        if not (cited.citations and has_words(cited.text)):
            return None
        if not self.settings.verify:
            return Verified(text=cited.text, checks=[])
        first_policy = "mark" if policy == "regenerate" else policy
        verified = verify_text(cited.text, passages, self.checker(), first_policy)
        if (policy != "regenerate" or streamed or not verified.unsupported
                or turn.llm is None or draft.generator == "extractive"):
            return verified
        # Re-ask once, telling the model which sentences its passages do not support.
        feedback = "\n".join(f"- {c.sentence}" for c in verified.unsupported)
        messages = [*self._messages(turn),
                    {"role": "assistant", "content": draft.text},
                    {"role": "user", "content": prompt("regenerate", sentences=feedback,
                                                       abstain_token=ABSTAIN_TOKEN)}]
        try:
            completion = turn.llm.complete(messages, self.settings.llm_max_tokens)
        except LLMUnavailable:
            return verified
        turn.usage["prompt_tokens"] += completion.prompt_tokens
        turn.usage["completion_tokens"] += completion.completion_tokens
        retry = resolve_citations(completion.text, passages, renumber=False)
        if is_abstention(completion.text) or not (retry.citations and has_words(retry.text)):
            # Asked again, the model has nothing supported to say about them: drop them.
            dropped = verify_text(cited.text, passages, self.checker(), "drop")
            return Verified(text=dropped.text, checks=dropped.checks,
                            first_faithfulness=verified.faithfulness)
        second = verify_text(retry.text, passages, self.checker(), "mark")
        # `faithfulness` keeps describing the model's first answer; text and checks are
        # the regenerated ones.
        return Verified(text=second.text, checks=second.checks,
                        first_faithfulness=verified.faithfulness)

    def checker(self) -> Judge:
        with self._lock:
            if self._checker is None:
                self._checker = make_judge(self.settings.verifier, self.settings)
            return self._checker

    def _generate(self, turn: _Turn) -> _Draft:
        s = self.settings
        passages = turn.retrieval.passages
        if not passages or turn.retrieval.coverage < s.min_support:
            return _Draft("", abstained=True, generator=turn.generator)
        if turn.llm is None:
            return self._extractive(turn)
        try:
            completion = turn.llm.complete(self._messages(turn), s.llm_max_tokens)
        except LLMUnavailable as exc:
            return self._extractive(turn, fallback=str(exc))
        turn.usage["prompt_tokens"] += completion.prompt_tokens
        turn.usage["completion_tokens"] += completion.completion_tokens
        text = completion.text
        if _MARKERS.search(text):  # a cited answer that also says NOT FOUND: drop that part
            text = _STRAY_ABSTAIN.sub("", text).strip()
        pointed = {n for n in cited_numbers(text) if 1 <= n <= len(passages)}
        if not has_words(text) and pointed:
            # Small models sometimes answer with a marker alone: they chose the passage
            # but not the words. Quote that passage's best sentences.
            if turn.perspectives:
                text = extractive_perspectives(turn.standalone, passages, turn.retrieval.idf,
                                               0.0, only=pointed) or ""
            else:
                text = extractive_answer(turn.standalone, passages, turn.retrieval.idf,
                                         s.extractive_sentences, 0.0, only=pointed).text or ""
        return _Draft(text, abstained=is_abstention(text), generator=turn.generator)

    def _messages(self, turn: _Turn) -> list[Message]:
        passages = turn.retrieval.passages
        if turn.perspectives:
            return perspective_messages(turn.standalone, passages, ABSTAIN_TOKEN)
        return build_messages(turn.standalone, passages)

    def _extractive(self, turn: _Turn, fallback: str | None = None) -> _Draft:
        s = self.settings
        passages, idf = turn.retrieval.passages, turn.retrieval.idf
        if turn.perspectives:
            text = extractive_perspectives(turn.standalone, passages, idf,
                                           s.extractive_min_coverage)
        else:
            text = extractive_answer(turn.standalone, passages, idf, s.extractive_sentences,
                                     s.extractive_min_coverage).text
        return _Draft(text or "", abstained=text is None, generator="extractive",
                      fallback=fallback)

    def _validate(self, question: str) -> str:
        question = (question or "").strip()
        if not question:
            raise BadRequest("the question is empty")
        if len(question) > self.settings.max_question_chars:
            raise PayloadTooLarge(
                f"the question has {len(question)} characters; the limit is "
                f"{self.settings.max_question_chars} (RAG_MAX_QUESTION_CHARS)"
            )
        return question


def build_messages(question: str, passages: list[Passage]) -> list[Message]:
    blocks = "\n\n".join(
        prompt("passage", marker=i, label=p.label, text=p.text)
        for i, p in enumerate(passages, start=1)
    )
    return [
        {"role": "system", "content": prompt("answer_system", abstain_token=ABSTAIN_TOKEN)},
        {"role": "user", "content": prompt("answer_user", passages=blocks, question=question)},
    ]


def is_abstention(text: str) -> bool:
    """The model said the sources hold no answer, and cited nothing for anything else."""
    plain = text.strip().lower()
    if not plain:
        return True
    if ABSTAIN_TOKEN.lower() in plain and not re.search(r"\[\d+\]", plain):
        return True
    return bool(_ABSTAIN_PHRASES.search(plain)) and not re.search(r"\[\d+\]", plain)


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 1)
