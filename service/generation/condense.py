"""Rewrite a follow-up into a standalone question before retrieval."""

from __future__ import annotations

import re

from service.errors import LLMUnavailable
from service.generation import markers
from service.generation.chat import ChatLLM
from service.generation.prompts import prompt
from service.records import Turn

_FOLLOW_UP = re.compile(
    r"^\s*(and|but|also|what about|how about|so|then)\b|\b(he|she|they|him|her|them|his|"
    r"their|it|its|that|this|those|these|the other|the same|there)\b", re.I)


def looks_like_follow_up(question: str) -> bool:
    return bool(_FOLLOW_UP.search(question)) or len(question.split()) <= 4


def heuristic_standalone(question: str, history: list[Turn]) -> str:
    """Without an LLM: retrieve with the previous question's words as context."""
    previous = next((t.content for t in reversed(history) if t.role == "user"), "")
    return f"{previous} {question}".strip() if previous else question


def condense_question(question: str, history: list[Turn], llm: ChatLLM | None,
                      max_turns: int) -> tuple[str, int]:
    """(standalone question, LLM tokens used)."""
    turns = history[-max_turns:] if max_turns else []
    if not turns or not looks_like_follow_up(question):
        return question, 0
    if llm is None:
        return heuristic_standalone(question, turns), 0
    transcript = "\n".join(f"{t.role}: {markers.strip(t.content)}" for t in turns)
    messages = [
        {"role": "system", "content": prompt("condense_system")},
        {"role": "user", "content": prompt("condense_user", history=transcript,
                                           question=question)},
    ]
    try:
        completion = llm.complete(messages, max_tokens=64)
    except LLMUnavailable:
        return heuristic_standalone(question, turns), 0
    lines = completion.text.strip().strip('"').splitlines()
    rewritten = lines[0].strip() if lines else ""
    used = completion.prompt_tokens + completion.completion_tokens
    if not rewritten or len(rewritten) > 4 * len(question) + 200:
        return heuristic_standalone(question, turns), used
    if not _keeps_names(question, rewritten):
        return heuristic_standalone(question, turns), used  # the rewrite lost the subject
    return rewritten, used


def _keeps_names(question: str, rewritten: str) -> bool:
    """Every capitalised word after the first of the follow-up survives the rewrite."""
    names = re.findall(r"(?<!^)(?<![.?!]\s)\b[A-Z][\w’'-]+", question.strip())
    return all(name.lower() in rewritten.lower() for name in names)
