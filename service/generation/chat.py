"""What every chat LLM backend speaks: messages in, a completion or text deltas out.

Shared by the backends (local_llm.py, openai_llm.py), the generators that use them and
the LLM judge, so none of those import each other.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

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

    def stream(self, messages: list[Message], max_tokens: int) -> Iterator[str | Completion]:
        """Text deltas as they are generated, then, when the backend reports it, one
        Completion with the whole text and its token usage; closing the iterator stops
        generation. Raises LLMUnavailable like `complete`."""
        ...

    def ping(self) -> str:
        """A short description of the backend if it can answer now; raises
        LLMUnavailable (saying why) if not. For readiness checks."""
        ...
