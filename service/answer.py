"""The answering service: `ask(question, history, filters) -> Answer`.

Every surface (CLI, HTTP API, Slack, eval) is a thin adapter over `AnswerService.ask`.
Steps: condense a follow-up into a standalone question -> retrieve passages -> abstain
early when they hold too little of the question -> generate (LLM with numbered
passages, or extractive) -> keep only markers that point at given passages -> Answer.
If the LLM is down or times out, the extractive answer is returned, labelled.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

from service.config import GeneratorName, Settings
from service.errors import BadRequest, LLMUnavailable, ModelNotInstalled
from service.generation.attribution import attribute_sentences
from service.generation.citations import cited_numbers, has_words, resolve_citations
from service.generation.condense import (
    condense_question,
    heuristic_standalone,
    looks_like_follow_up,
)
from service.generation.extractive import extractive_answer
from service.generation.llm import ChatLLM, Message, make_llm
from service.generation.prompts import prompt
from service.index.config import load_index_config
from service.records import Answer, Filters, Passage, Turn
from service.retrieval.retriever import RetrievalResult, Retriever

#: What the model is told to write when the passages do not answer the question.
ABSTAIN_TOKEN = "NOT FOUND"
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


class AnswerService:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._retrievers: dict[str, Retriever] = {}
        self._llms: dict[str, ChatLLM] = {}
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
            generator: GeneratorName | None = None) -> Answer:
        started = time.perf_counter()
        question = self._validate(question)
        index = index or self.settings.index
        generator = generator or self.settings.generator
        history = history or []
        timings: dict[str, float] = {}
        usage = {"prompt_tokens": 0, "completion_tokens": 0}
        retriever = self.retriever(index)
        retriever.snapshot()  # fail fast (unknown or unbuilt index) before any LLM call

        llm: ChatLLM | None = None
        fallback: str | None = None
        if generator != "extractive":
            try:
                llm = self.llm(generator)
            except (LLMUnavailable, ModelNotInstalled) as exc:
                fallback = str(exc)

        t0 = time.perf_counter()
        standalone, condense_tokens = condense_question(question, history, llm,
                                                        self.settings.history_turns)
        usage["prompt_tokens"] += condense_tokens
        timings["condense"] = _ms(t0)

        t0 = time.perf_counter()
        # A rewrite that still leans on the conversation retrieves with its context.
        query = heuristic_standalone(standalone, history) if (
            history and looks_like_follow_up(standalone)) else standalone
        retrieval = retriever.retrieve(query, filters)
        timings["retrieve"] = _ms(t0)

        t0 = time.perf_counter()
        draft = self._generate(standalone, retrieval, generator, llm, usage)
        timings["generate"] = _ms(t0)
        fallback = fallback or draft.fallback
        abstained = draft.abstained
        cited = None if abstained else resolve_citations(draft.text, retrieval.passages)
        if cited is not None and not (cited.citations and has_words(cited.text)):
            abstained = True  # an answer without a single supported citation is not shown
        text = prompt("abstain") if abstained or cited is None else (
            attribute_sentences(cited.text, cited.citations))
        if fallback:
            text = f"{prompt('fallback_notice')} {text}"
        timings["total"] = _ms(started)
        return Answer(
            answer=text, abstained=abstained,
            citations=[] if abstained or cited is None else cited.citations,
            generator=draft.generator, fallback=fallback, question=question,
            standalone_question=standalone, index=index, timings_ms=timings, usage=usage,
            passages=retrieval.passages,
        )

    def _generate(self, question: str, retrieval: RetrievalResult, generator: str,
                  llm: ChatLLM | None, usage: dict[str, int]) -> _Draft:
        s = self.settings
        passages = retrieval.passages
        if not passages or retrieval.coverage < s.min_support:
            return _Draft("", abstained=True, generator=generator)
        fallback = None
        if llm is not None:
            try:
                completion = llm.complete(build_messages(question, passages), s.llm_max_tokens)
            except LLMUnavailable as exc:
                fallback = str(exc)
            else:
                usage["prompt_tokens"] += completion.prompt_tokens
                usage["completion_tokens"] += completion.completion_tokens
                text = completion.text
                pointed = {n for n in cited_numbers(text) if 1 <= n <= len(passages)}
                if not has_words(text) and pointed:
                    # Small models sometimes answer with a marker alone: they chose the
                    # passage but not the words. Quote that passage's best sentences.
                    quoted = extractive_answer(question, passages, retrieval.idf,
                                               s.extractive_sentences, 0.0, only=pointed)
                    text = quoted.text or ""
                return _Draft(text, abstained=is_abstention(text), generator=generator)
        draft = extractive_answer(question, passages, retrieval.idf, s.extractive_sentences,
                                  s.extractive_min_coverage)
        return _Draft(draft.text or "", abstained=draft.text is None, generator="extractive",
                      fallback=fallback)


    def _validate(self, question: str) -> str:
        question = (question or "").strip()
        if not question:
            raise BadRequest("the question is empty")
        if len(question) > self.settings.max_question_chars:
            raise BadRequest(
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
