"""A model that declines an answer its passages hold: the passages are quoted instead
(RAG_QUOTE_DECLINED), labelled, verified; a decline on thin passages stands."""

from __future__ import annotations

from service.config import Settings
from service.generation import wording
from service.generation.prompts import prompt
from service.records import Answer, AskRequest
from tests.conftest import ScriptedLLM, ask, pipeline_with_llm

DEMO_Q = "Who headed the Russian delegation at the Istanbul talks?"  # coverage 0.92
THIN_Q = "What did Putin say about the weather in Moscow?"  # coverage 0.39


def declining() -> ScriptedLLM:
    return ScriptedLLM(lambda messages: wording.ABSTAIN_TOKEN)


def test_a_declined_answer_the_passages_hold_is_quoted_and_labelled(
        news_settings: Settings) -> None:
    answer = ask(pipeline_with_llm(news_settings, declining()), DEMO_Q)
    assert not answer.abstained and "Medinsky" in answer.answer
    assert answer.answer.startswith(prompt("quoted_notice"))
    assert answer.generator == "extractive" and answer.citations
    assert answer.fallback and "the model found no answer" in answer.fallback
    assert answer.verification and all(c.supported for c in answer.verification)
    # the quotes cite the passages they were taken from
    cited = {c.marker: c.text for c in answer.citations}
    assert any("Medinsky" in text for text in cited.values())


def test_a_decline_stands_on_thin_passages_or_when_turned_off(
        news_settings: Settings) -> None:
    thin = ask(pipeline_with_llm(news_settings, declining()), THIN_Q)
    assert thin.abstained and thin.answer == wording.abstention()
    off = ask(pipeline_with_llm(news_settings, declining(), quote_declined=False), DEMO_Q)
    assert off.abstained and off.generator == "openai" and off.fallback is None


def test_a_streamed_decline_is_followed_by_the_quotes(news_settings: Settings) -> None:
    pipeline = pipeline_with_llm(news_settings, declining())
    events = list(pipeline.stream(AskRequest(question=DEMO_Q)))
    answer = events[-1]
    assert isinstance(answer, Answer) and not answer.abstained
    deltas = "".join(e for e in events if isinstance(e, str))
    assert deltas == f"{wording.ABSTAIN_TOKEN}\n\n{answer.answer}"
