"""The prompt budget (service/pipeline/budget.py): the evidence an LLM reads is the
question's best sentences with their neighbours, as exact document spans, within the
budget, numbered as verification and citations read them."""

from __future__ import annotations

import re

import pytest

from service.config import Settings
from service.generation.messages import passage_blocks
from service.index.config import load_index_config
from service.index.store import IndexStore
from service.ingest.chunk import token_counter
from service.pipeline import Pipeline
from service.pipeline.budget import PromptBudget
from service.pipeline.resources import Resources
from service.records import AskRequest, Document, Passage
from service.retrieval.retriever import RetrievalResult
from tests.conftest import ScriptedLLM, ask, pipeline_with_llm
from tests.test_answer import MEDINSKY_Q
from tests.test_pipeline import collect, quote_last_passage

QUESTIONS = [
    MEDINSKY_Q,
    "How many drones did Russian air defense shoot down from May 20 to May 27?",
    "What did Olaf Scholz call the decision to stop attacks on energy infrastructure?",
    "How much military aid did Ukraine receive according to the Kiel Institute?",
    "What did Zelensky call the Russian memorandum?",
    "When did Putin and Trump have their telephone conversation?",
    "What did Tatiana Stanovaya say about Putin and Trump?",
]


@pytest.fixture(scope="module")
def documents(news_settings: Settings) -> dict[str, Document]:
    store = IndexStore(load_index_config(news_settings, "news"), news_settings)
    return {d.doc_id: d for d in store.iter_documents(store.require_manifest().generation)}


def retrieve(settings: Settings, question: str) -> RetrievalResult:
    return Resources(settings).retriever("news").retrieve(question)


def budgeted(settings: Settings, question: str, tokens: int) -> list[Passage]:
    result = retrieve(settings, question)
    return PromptBudget().run(question, result.passages, result.idf, tokens)


@pytest.mark.parametrize("question", QUESTIONS)
def test_budgeted_passages_are_exact_spans_inside_the_retrieved_windows(
        news_settings: Settings, documents: dict[str, Document], question: str) -> None:
    retrieved = {p.chunk_id: p for p in retrieve(news_settings, question).passages}
    given = budgeted(news_settings, question, 300)
    assert given
    for passage in given:
        assert documents[passage.doc_id].text[passage.start : passage.end] == passage.text
        window = retrieved[passage.chunk_id]
        assert window.start <= passage.start < passage.end <= window.end
        assert passage.rank == window.rank and passage.doc_id == window.doc_id


def test_the_budget_keeps_the_sentence_that_answers_the_demo_question(
        news_settings: Settings) -> None:
    given = budgeted(news_settings, MEDINSKY_Q, 300)
    assert any("head of the Russian delegation, Medinsky" in p.text for p in given)
    # ... and leaves out what is only on topic: far fewer tokens than the whole windows.
    whole = retrieve(news_settings, MEDINSKY_Q).passages
    count = token_counter()
    assert count(passage_blocks(given)) < 0.6 * count(passage_blocks(whole))


@pytest.mark.parametrize("tokens", [120, 200, 300, 450])
def test_the_passages_the_model_reads_fit_the_budget(news_settings: Settings,
                                                     tokens: int) -> None:
    count = token_counter()
    for question in QUESTIONS:
        given = budgeted(news_settings, question, tokens)
        assert count(passage_blocks(given)) <= tokens + 2 * len(given), question
        # "+ 2 per passage": the blank line joining blocks; a budget counts the blocks.


def test_a_best_sentence_longer_than_the_budget_still_goes_in_whole(
        news_settings: Settings, documents: dict[str, Document]) -> None:
    given = budgeted(news_settings, MEDINSKY_Q, 10)
    assert len(given) == 1 and "Medinsky" in given[0].text
    assert documents[given[0].doc_id].text[given[0].start : given[0].end] == given[0].text


def test_a_zero_budget_leaves_the_passages_whole(news_settings: Settings) -> None:
    result = retrieve(news_settings, MEDINSKY_Q)
    assert PromptBudget().run(MEDINSKY_Q, result.passages, result.idf, 0) == result.passages


def test_the_prompt_numbers_budgeted_passages_as_citations_resolve_them(
        news_settings: Settings) -> None:
    llm = ScriptedLLM(quote_last_passage)
    pipeline = pipeline_with_llm(news_settings, llm, prompt_budget=300)
    streamed, final = collect(pipeline.stream(AskRequest(question=MEDINSKY_Q)))
    prompt = llm.calls[0][-1]["content"]
    numbers = [int(n) for n in re.findall(r"^\[(\d+)\] Source:", prompt, re.M)]
    assert numbers == list(range(1, len(final.passages) + 1))
    assert len(final.passages) < len(final.retrieved)  # the budget left some out
    # Retrieval order is kept: the model's passage n is the n-th best kept.
    ranks = [p.rank for p in final.passages]
    assert ranks == sorted(ranks)
    # The citation is the passage the model quoted, exactly as it read it.
    number = int(re.findall(r"\[(\d+)\]", streamed)[-1])
    assert [c.marker for c in final.citations] == [number]
    assert final.citations[0].text == final.passages[number - 1].text
    assert final.citations[0].text in prompt
    assert final.passages[number - 1].text in prompt and MEDINSKY_Q in prompt
    assert prompt.count(MEDINSKY_Q) == 1  # the question once


def test_the_extractive_generator_reads_whole_passages(news_settings: Settings) -> None:
    answer = ask(Pipeline(news_settings), MEDINSKY_Q)
    assert answer.generator == "extractive"
    assert answer.passages == answer.retrieved and "budget" not in answer.timings_ms
