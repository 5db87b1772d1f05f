"""Generators: numbered passages in, a draft answer with passage-numbered markers out.

One protocol, three implementations:
- `LLMGenerator` — a chat LLM (local GGUF or any OpenAI-compatible server) asked with the
  strategy's prompt; streams deltas through the marker filter.
- `ExtractiveGenerator` — no LLM: quotes the best-matching source sentences.
- `FallbackGenerator` — owns the one rule "LLM down → extractive, labelled": wraps a
  primary and a backup, for whole answers and streams alike.
What kind of answer is asked for (plain or perspectives) is the strategy's business
(strategy.py), not a flag threaded through here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from service.errors import LLMUnavailable
from service.generation import markers, wording
from service.generation.chat import ChatLLM, Completion
from service.generation.citations import has_words
from service.generation.messages import revision_messages
from service.generation.strategy import AnswerStrategy
from service.records import Passage


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, completion: Completion) -> None:
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens


@dataclass
class GenerationInput:
    question: str
    passages: list[Passage]
    idf: Callable[[str], float]
    strategy: AnswerStrategy
    usage: Usage = field(default_factory=Usage)


@dataclass
class Draft:
    """A generator's answer; markers are 1-based positions in the passages it was given."""

    text: str
    abstained: bool
    generator: str
    #: Why the requested generator was replaced or cut short, if it was.
    fallback: str | None = None
    #: Written by the backup generator in place of the requested one.
    replaced: bool = False
    #: Already sent to the reader delta by delta (markers cannot be renumbered).
    streamed: bool = False
    #: Quotes shown because the model declined an answer the passages seem to hold.
    quoted: bool = False


class Generator(Protocol):
    name: str
    #: The chat LLM behind it, also used to condense follow-ups; None for extractive.
    chat: ChatLLM | None
    #: Evidence tokens it reads (the pipeline's prompt budget); 0 = whole passages.
    prompt_budget: int

    def generate(self, job: GenerationInput) -> Draft:
        """Raises LLMUnavailable when its backend is down (FallbackGenerator catches it)."""
        ...

    def stream(self, job: GenerationInput) -> Iterator[str | Draft]:
        """Text deltas (if the strategy streams), then the Draft."""
        ...

    def revise(self, job: GenerationInput, draft: Draft,
               unsupported: list[str]) -> Draft | None:
        """Asked again with the sentences its passages do not support; None if it cannot."""
        ...

    def reread(self, job: GenerationInput) -> Draft | None:
        """Asked afresh with the strategy's second-look request (the question read before
        the passages too), after its answer contradicted a passage; None if it cannot."""
        ...

    def ready(self) -> tuple[bool, str]:
        """Whether it can answer now, and a detail for /readyz."""
        ...


class ExtractiveGenerator:
    name = "extractive"
    chat = None
    prompt_budget = 0  # quotes from whole passages: reading them costs nothing

    def __init__(self, min_coverage: float) -> None:
        self._min_coverage = min_coverage

    def generate(self, job: GenerationInput) -> Draft:
        text = job.strategy.quote(job.question, job.passages, job.idf, self._min_coverage)
        return Draft(text or "", abstained=text is None, generator=self.name)

    def stream(self, job: GenerationInput) -> Iterator[str | Draft]:
        yield self.generate(job)

    def revise(self, job: GenerationInput, draft: Draft,
               unsupported: list[str]) -> Draft | None:
        return None

    def reread(self, job: GenerationInput) -> Draft | None:
        return None

    def ready(self) -> tuple[bool, str]:
        return True, "extractive (no LLM)"


class LLMGenerator:
    def __init__(self, name: str, chat: ChatLLM, max_tokens: int,
                 prompt_budget: int = 0) -> None:
        self.name = name
        self.chat = chat
        self.prompt_budget = prompt_budget
        self._max_tokens = max_tokens

    def generate(self, job: GenerationInput) -> Draft:
        completion = self.chat.complete(job.strategy.messages(job.question, job.passages),
                                        self._max_tokens)
        job.usage.add(completion)
        return self._draft(job, completion.text)

    def stream(self, job: GenerationInput) -> Iterator[str | Draft]:
        if not job.strategy.streams:
            yield self.generate(job)
            return
        marker_filter = markers.MarkerFilter(len(job.passages))
        parts: list[str] = []
        deltas = self.chat.stream(job.strategy.messages(job.question, job.passages),
                                  self._max_tokens)
        try:
            for delta in deltas:
                if isinstance(delta, Completion):
                    job.usage.add(delta)
                    continue
                parts.append(delta)
                if out := marker_filter.feed(delta):
                    yield out
        except LLMUnavailable as exc:
            if not parts:
                raise
            # The stream broke mid-answer: keep what was said, say why it stopped.
            yield Draft("".join(parts), abstained=False, generator=self.name,
                        fallback=f"answer cut short: {exc}", streamed=True)
            return
        finally:
            close_iterator(deltas)  # a consumer that stopped early stops the LLM now
        if out := marker_filter.flush():
            yield out
        text = "".join(parts)
        yield Draft(text, abstained=wording.is_abstention(text), generator=self.name,
                    streamed=True)

    def revise(self, job: GenerationInput, draft: Draft,
               unsupported: list[str]) -> Draft | None:
        asked = job.strategy.messages(job.question, job.passages)
        try:
            completion = self.chat.complete(
                revision_messages(asked, draft.text, unsupported), self._max_tokens)
        except LLMUnavailable:
            return None
        job.usage.add(completion)
        return Draft(completion.text, abstained=wording.is_abstention(completion.text),
                     generator=self.name)

    def reread(self, job: GenerationInput) -> Draft | None:
        asked = job.strategy.reread(job.question, job.passages)
        if asked is None:
            return None
        try:
            completion = self.chat.complete(asked, self._max_tokens)
        except LLMUnavailable:
            return None
        job.usage.add(completion)
        return self._draft(job, completion.text)

    def ready(self) -> tuple[bool, str]:
        try:
            return True, self.chat.ping()
        except LLMUnavailable as exc:
            return False, str(exc)

    def _draft(self, job: GenerationInput, text: str) -> Draft:
        text = wording.drop_stray_abstain(text)
        pointed = {n for n in markers.numbers(text) if 1 <= n <= len(job.passages)}
        if not has_words(text) and pointed:
            # Small models sometimes answer with a marker alone: they chose the passage
            # but not the words. Quote that passage's best sentences.
            text = job.strategy.quote(job.question, job.passages, job.idf, 0.0,
                                      only=pointed) or ""
        return Draft(text, abstained=wording.is_abstention(text), generator=self.name)


class FallbackGenerator:
    """`primary`, or `backup` (labelled, with the reason) when the primary is down or
    could not be loaded at all (`primary=None`, `reason` says why)."""

    def __init__(self, primary: Generator | None, backup: Generator,
                 reason: str | None = None) -> None:
        self.primary = primary
        self.backup = backup
        self._reason = reason
        self.name = primary.name if primary else backup.name
        self.chat = primary.chat if primary else None
        self.prompt_budget = primary.prompt_budget if primary else backup.prompt_budget

    def generate(self, job: GenerationInput) -> Draft:
        if self.primary is None:
            return self._substitute(job, self._reason or "no generator")
        try:
            return self.primary.generate(job)
        except LLMUnavailable as exc:
            return self._substitute(job, str(exc))

    def stream(self, job: GenerationInput) -> Iterator[str | Draft]:
        if self.primary is None:
            yield self._substitute(job, self._reason or "no generator")
            return
        try:
            yield from self.primary.stream(job)
        except LLMUnavailable as exc:  # raised only before the first delta
            yield self._substitute(job, str(exc))

    def revise(self, job: GenerationInput, draft: Draft,
               unsupported: list[str]) -> Draft | None:
        if self.primary is None or draft.replaced:
            return None
        return self.primary.revise(job, draft, unsupported)

    def reread(self, job: GenerationInput) -> Draft | None:
        return None if self.primary is None else self.primary.reread(job)

    def ready(self) -> tuple[bool, str]:
        if self.primary is None:
            return False, self._reason or "no generator"
        return self.primary.ready()

    def _substitute(self, job: GenerationInput, reason: str) -> Draft:
        draft = self.backup.generate(job)
        draft.fallback, draft.replaced = reason, True
        return draft


def close_iterator(iterator: Iterator[object]) -> None:
    """Close a generator now (a plain iterator has nothing to close)."""
    close = getattr(iterator, "close", None)
    if close is not None:
        close()
