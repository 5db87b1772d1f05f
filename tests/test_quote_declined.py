"""A model that declines an answer its passages hold: the passages are quoted instead
(RAG_QUOTE_DECLINED), labelled, verified; a decline on thin passages, on passages that
lack a name the question asks about, or in a perspectives answer stands."""

from __future__ import annotations

from service.config import Settings
from service.generation import wording
from service.generation.citations import claim_spans
from service.generation.generators import Draft
from service.generation.prompts import prompt
from service.pipeline.declined import QuoteDeclined, holds_what_is_asked
from service.records import Answer, AskRequest
from tests.conftest import ScriptedLLM, ask, pipeline_with_llm

DEMO_Q = "Who headed the Russian delegation at the Istanbul talks?"  # coverage 0.92
MIDDLING_Q = "Why did Rubio meet Lavrov in Istanbul?"  # coverage 0.65: quotes exist
THIN_Q = "What did Putin say about the weather in Moscow?"  # coverage 0.39
FALSE_PREMISE_Q = "When did Russia join NATO?"  # coverage 0.93; passages: Ukraine and NATO


def declining() -> ScriptedLLM:
    return ScriptedLLM(lambda messages: wording.ABSTAIN_TOKEN)


def test_a_declined_answer_the_passages_hold_is_quoted_and_labelled(
        news_settings: Settings) -> None:
    answer = ask(pipeline_with_llm(news_settings, declining(), prompt_budget=60), DEMO_Q)
    assert not answer.abstained and answer.quoted and "Medinsky" in answer.answer
    assert answer.answer.startswith(prompt("quoted_notice"))
    # the notice is the service's words, one sentence, not a claim to score or check
    notice = answer.answer[:claim_spans(answer.answer)[0][1]]
    assert wording.is_fallback_notice(notice) and notice == prompt("quoted_notice")
    assert answer.generator == "extractive" and answer.fallback is None
    assert answer.verification and all(c.supported for c in answer.verification)
    # quoted from the retrieved passages, not the 60-token budget the model read
    assert len(answer.passages) == len(answer.retrieved) == news_settings.top_k
    assert {c.text for c in answer.citations} <= {p.text for p in answer.retrieved}


def test_a_decline_stands_on_thin_passages_a_missing_name_or_when_turned_off(
        news_settings: Settings) -> None:
    for question in (THIN_Q, MIDDLING_Q, FALSE_PREMISE_Q):
        answer = ask(pipeline_with_llm(news_settings, declining()), question)
        assert answer.abstained and not answer.quoted, question
        assert answer.answer == wording.abstention()
    lower = pipeline_with_llm(news_settings, declining(), quote_declined_coverage=0.6)
    assert ask(lower, MIDDLING_Q).quoted  # the threshold, not the quotes, kept it out
    off = ask(pipeline_with_llm(news_settings, declining(), quote_declined=False), DEMO_Q)
    assert off.abstained and off.generator == "openai" and not off.quoted
    both = ask(pipeline_with_llm(news_settings, declining()), DEMO_Q, perspectives=True)
    assert both.abstained and not both.quoted


def test_a_replaced_draft_is_not_quoted_again() -> None:
    stage = QuoteDeclined(enabled=True, min_coverage=0.0)
    replaced = Draft("", abstained=True, generator="extractive", replaced=True)
    assert stage.run(replaced, DEMO_Q, None, None) is None  # type: ignore[arg-type]


def test_a_streamed_decline_sends_the_quotes_not_the_token(news_settings: Settings) -> None:
    pipeline = pipeline_with_llm(news_settings, declining())
    events = list(pipeline.stream(AskRequest(question=DEMO_Q)))
    answer = events[-1]
    assert isinstance(answer, Answer) and answer.quoted
    assert "".join(e for e in events if isinstance(e, str)) == answer.answer
    thin = list(pipeline.stream(AskRequest(question=THIN_Q)))
    assert [e for e in thin if isinstance(e, str)] == [wording.abstention()]
    assert wording.may_be_abstain_token("NOT FO") and not wording.may_be_abstain_token("NOTE")


def test_quotes_must_hold_the_names_and_numbers_asked_about() -> None:
    assert not holds_what_is_asked("When did Russia join NATO?",
                                   "Ukraine continues to strive to join NATO.")
    assert not holds_what_is_asked("Zelensky and Trump spoke on March 18?",  # first word too
                                   "Putin and Trump spoke on March 18.")
    assert not holds_what_is_asked("How long was the call on March 19?",
                                   "The call on March 18 lasted two hours.")
    assert not holds_what_is_asked("Who did the US Senate confirm?",
                                   "Washington offered us Gabbard, the Senate said.")
    # a name by its first letters ("Russia's", "Russian"; "Zelensky", "Zelenskyy"), an
    # acronym with or without dots
    assert holds_what_is_asked("Who headed Russia's delegation at the Istanbul talks?",
                               "Medinsky headed the Russian delegation in Istanbul.")
    assert holds_what_is_asked("What did Zelensky say?", "Volodymyr Zelenskyy noted it.")
    assert holds_what_is_asked("Who did the US Senate confirm?", "The U.S. Senate confirmed her.")
