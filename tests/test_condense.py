"""Follow-up detection and the guards around the LLM's rewrite."""

from __future__ import annotations

import pytest

from service.generation.condense import (
    _keeps_names,
    condense_question,
    heuristic_standalone,
    looks_like_follow_up,
)
from service.records import Turn

HISTORY = [Turn(role="user", content="Who headed the Russian delegation at the Istanbul talks?"),
           Turn(role="assistant", content="Medinsky headed it [1].")]


@pytest.mark.parametrize("question,expected", [
    ("and who headed the other delegation?", True),
    ("what did he confirm?", True),
    ("Why?", True),
    ("How many drones did Russian air defense shoot down in May?", False),
])
def test_follow_ups_are_recognised(question: str, expected: bool) -> None:
    assert looks_like_follow_up(question) is expected


def test_without_an_llm_the_previous_question_gives_the_context() -> None:
    assert heuristic_standalone("and the other one?", HISTORY) == (
        "Who headed the Russian delegation at the Istanbul talks? and the other one?")
    standalone, tokens = condense_question("and the other one?", HISTORY, None, 6)
    assert tokens == 0 and standalone.startswith("Who headed the Russian delegation")


def test_a_standalone_question_or_an_empty_history_is_left_alone() -> None:
    q = "How many drones did Russian air defense shoot down in May?"
    assert condense_question(q, HISTORY, None, 6) == (q, 0)
    assert condense_question("and him?", [], None, 6) == ("and him?", 0)


def test_a_rewrite_that_drops_a_name_of_the_follow_up_is_rejected() -> None:
    assert not _keeps_names("And what about Zelensky?", "Who headed the Russian delegation?")
    assert _keeps_names("what did he confirm?", "What did Medinsky confirm?")
    assert _keeps_names("And what did Putin say in Istanbul?", "What did Putin say in Istanbul?")
