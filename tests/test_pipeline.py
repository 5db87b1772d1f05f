"""The answering pipeline's stages through their public seams: generators behind one
protocol, the fallback rule owned once, streams and whole answers agreeing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from service.config import Settings
from service.errors import BadRequest, LLMUnavailable, UnknownBackend
from service.generation import wording
from service.generation.chat import Completion
from service.ingest.chunk import split_sentences
from service.pipeline import AskRequest, Pipeline
from service.records import Answer
from tests.conftest import ScriptedLLM, ask, pipeline_with_llm
from tests.test_answer import MEDINSKY_Q


class DownLLM:
    """A chat backend that is down (as the openai client reports a refused connection)."""

    name = "down"

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> Completion:
        raise LLMUnavailable("cannot reach the LLM endpoint: connection refused")

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        raise LLMUnavailable("cannot reach the LLM endpoint: connection refused")
        yield ""

    def ping(self) -> str:
        raise LLMUnavailable("cannot reach the LLM endpoint: connection refused")


def collect(events: Iterator[str | Answer]) -> tuple[str, Answer]:
    deltas: list[str] = []
    final = None
    for event in events:
        if isinstance(event, Answer):
            final = event
        else:
            deltas.append(event)
    assert final is not None
    return "".join(deltas), final


def test_an_llm_that_is_down_gives_the_labelled_extractive_answer_both_ways(
        news_settings: Settings) -> None:
    pipeline = pipeline_with_llm(news_settings, DownLLM())
    whole = ask(pipeline, MEDINSKY_Q)
    streamed, final = collect(pipeline.stream(AskRequest(question=MEDINSKY_Q)))
    for answer in (whole, final):
        assert answer.generator == "extractive" and "connection refused" in answer.fallback
        assert answer.answer.startswith(wording.fallback_notice())
        assert "Medinsky" in answer.answer and answer.citations
    assert streamed == final.answer == whole.answer
    assert pipeline.resources.generator("openai").ready() == (
        False, "cannot reach the LLM endpoint: connection refused")


def quote_last_passage(messages: list[dict[str, str]]) -> str:
    """A faithful answer copied from the last passage it was given, cited to it."""
    blocks = re.findall(r"^\[(\d+)\] Source: .*\n(.*)$", messages[-1]["content"], re.M)
    number, text = blocks[-1]
    start, end = split_sentences(text)[0]
    return f"{text[start:end].rstrip('.')} [{number}]."


def test_streamed_deltas_are_the_models_words_and_the_markers_its_passages(
        news_settings: Settings) -> None:
    pipeline = pipeline_with_llm(news_settings, ScriptedLLM(quote_last_passage))
    streamed, final = collect(pipeline.stream(AskRequest(question=MEDINSKY_Q)))
    number = int(re.findall(r"\[(\d+)\]", streamed)[-1])
    assert number == len(final.passages) > 1
    # Not renumbered: the text is already out, so the citation keeps the passage number.
    assert [c.marker for c in final.citations] == [number]
    assert final.citations[0].text == final.passages[-1].text
    assert "generate_first_token" in final.timings_ms and final.faithfulness == 1.0
    # The backend's usage, sent after the deltas, is counted as in a whole answer.
    assert final.usage["prompt_tokens"] == 100 and final.usage["completion_tokens"] == 20
    whole = ask(pipeline, MEDINSKY_Q)
    assert [c.marker for c in whole.citations] == [1]  # renumbered by first use
    assert whole.citations[0].text == final.citations[0].text


def test_a_question_the_passages_do_not_hold_is_abstained_on_without_the_llm(
        news_settings: Settings) -> None:
    llm = ScriptedLLM(lambda messages: "Canberra [1].")
    answer = ask(pipeline_with_llm(news_settings, llm), "What is the capital of Australia?")
    assert answer.abstained and answer.answer == wording.abstention()
    assert llm.calls == []


def test_unknown_generators_and_questions_that_are_not_text_are_bad_requests(
        news_settings: Settings) -> None:
    pipeline = Pipeline(news_settings)
    with pytest.raises(UnknownBackend, match="choose one of: local, openai, extractive"):
        ask(pipeline, MEDINSKY_Q, generator="gpt-17")
    with pytest.raises(BadRequest, match="lone surrogate"):
        ask(pipeline, "hi \ud800")
    with pytest.raises(UnknownBackend, match="RAG_GENERATOR"):
        Pipeline(news_settings.model_copy(update={"generator": "nope"}))


class SlowLLM:
    """A chat backend that writes word by word and notes when its stream is closed."""

    name = "slow"

    def __init__(self) -> None:
        self.closed = False

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> Completion:
        return Completion("Medinsky headed the delegation [1].")

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        try:
            yield from ["Medinsky ", "headed ", "the ", "delegation ", "[1]."]
        finally:
            self.closed = True

    def ping(self) -> str:
        return self.name


def test_closing_a_stream_early_closes_the_llms_stream_at_once(
        news_settings: Settings) -> None:
    """No waiting for the garbage collector: the local model is held until then."""
    llm = SlowLLM()
    events = pipeline_with_llm(news_settings, llm).stream(AskRequest(question=MEDINSKY_Q))
    assert next(events) == "Medinsky "
    assert not llm.closed
    keep = [events]  # still referenced, as a response object would keep it
    events.close()
    assert llm.closed and keep
