"""Chat LLM backends behind one interface, chosen by name (`RAG_GENERATOR`)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

from service.config import Settings
from service.errors import ConfigError

Message = dict[str, str]


@dataclass
class Completion:
    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ChatLLM(Protocol):
    name: str

    def complete(self, messages: list[Message], max_tokens: int) -> Completion:
        """Raises LLMUnavailable when the backend is down, errors or times out."""
        ...

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str]:
        """Text deltas as they are generated; closing the iterator stops generation.
        Raises LLMUnavailable like `complete`."""
        ...


def make_llm(generator: str, settings: Settings) -> ChatLLM:
    if generator == "local":
        from service.generation.local_llm import LocalLLM

        return LocalLLM.shared(settings)
    if generator == "openai":
        from service.generation.openai_llm import OpenAILLM

        return OpenAILLM(settings)
    raise ConfigError(f"generator {generator!r} has no LLM; use 'local' or 'openai'")
