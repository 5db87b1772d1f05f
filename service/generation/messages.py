"""The prompts a generator sends, built from prompts/ templates: the numbered passages,
the answer request, and the follow-up asking the model to fix unsupported sentences."""

from __future__ import annotations

from service.generation import wording
from service.generation.chat import Message
from service.generation.prompts import prompt
from service.generation.wording import ABSTAIN_TOKEN
from service.records import Passage


def passage_blocks(passages: list[Passage]) -> str:
    """The passages as the model reads them, numbered 1..n (the markers it cites)."""
    return "\n\n".join(prompt("passage", marker=i, label=wording.passage_label(p), text=p.text)
                       for i, p in enumerate(passages, start=1))


def answer_messages(question: str, passages: list[Passage],
                    template: str = "answer_user") -> list[Message]:
    return [
        {"role": "system", "content": prompt("answer_system", abstain_token=ABSTAIN_TOKEN)},
        {"role": "user", "content": prompt(template, passages=passage_blocks(passages),
                                           question=question)},
    ]


def reread_messages(question: str, passages: list[Passage]) -> list[Message]:
    """The answer request with the question before the passages as well as after them:
    the second look an answer gets when it contradicted a passage it cited. Read first,
    the question tells the model which side, person and event to look for; as the
    default it costs faithfulness (docs/benchmarks.md, "The demo question")."""
    return answer_messages(question, passages, "answer_user_reread")


def revision_messages(asked: list[Message], answer: str,
                      unsupported: list[str]) -> list[Message]:
    """The first exchange, then: these sentences are not supported, answer again."""
    feedback = "\n".join(f"- {sentence}" for sentence in unsupported)
    return [*asked, {"role": "assistant", "content": answer},
            {"role": "user", "content": prompt("regenerate", sentences=feedback,
                                               abstain_token=ABSTAIN_TOKEN)}]
