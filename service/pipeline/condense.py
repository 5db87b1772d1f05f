"""Stage 1, condense: a follow-up becomes a standalone question, and the query to
retrieve with (a rewrite that still leans on the conversation keeps its context)."""

from __future__ import annotations

from dataclasses import dataclass

from service.generation.chat import ChatLLM
from service.generation.condense import (
    condense_question,
    heuristic_standalone,
    looks_like_follow_up,
)
from service.records import Turn


@dataclass
class Condensed:
    standalone: str
    query: str
    tokens: int


class CondenseStage:
    def __init__(self, history_turns: int) -> None:
        self._history_turns = history_turns

    def run(self, question: str, history: list[Turn], chat: ChatLLM | None) -> Condensed:
        standalone, tokens = condense_question(question, history, chat, self._history_turns)
        query = heuristic_standalone(standalone, history) if (
            history and looks_like_follow_up(standalone)) else standalone
        return Condensed(standalone=standalone, query=query, tokens=tokens)
