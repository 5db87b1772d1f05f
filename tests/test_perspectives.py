"""The `perspectives` option (each source's account side by side) and the attribution of
claims to the sources that support them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from service.config import Settings
from service.evaluation.metrics import answer_sentences, score_citations
from service.generation.attribution import attribute_sentences, strip_attribution
from service.generation.chat import Completion
from service.generation.citations import claim_spans, resolve_citations
from service.generation.perspectives import keep_per_source, source_groups
from service.generation.prompts import prompt
from service.generation.strategy import PerspectivesAnswer
from service.generation.wording import is_single_source_note
from service.ingest.chunk import split_sentences
from service.pipeline import Pipeline
from service.records import Answer, Filters, Passage
from service.retrieval.diversify import by_source
from service.verify.judge import LexicalJudge
from service.verify.verifier import claim_of
from tests.conftest import (
    ROOT,
    RunRag,
    ScriptedLLM,
    Server,
    ask,
    build_news_copy,
    pipeline_with_llm,
    rag_env,
)

#: A contested question of eval/datasets/news.jsonl (con51) that two outlets address.
CONTESTED_Q = "Did Kiev violate the moratorium on strikes on energy infrastructure?"
MARKER = re.compile(r"\[(\d+)\]")


def passages(*items: tuple[str | None, str, str]) -> list[Passage]:
    """(source, title, text) -> passages ranked in the given order."""
    return [Passage(chunk_id=f"c{i}", doc_id=f"d{i}", title=title, source=source, text=text,
                    start=0, end=len(text), score=1.0, rank=i)
            for i, (source, title, text) in enumerate(items, start=1)]


def labels_of(answer: Answer) -> list[str]:
    return list(dict.fromkeys(c.source or f"“{c.title}”" for c in answer.citations))


def assert_every_claim_cited(answer: Answer) -> None:
    markers = {c.marker for c in answer.citations}
    claims = [answer.answer[s:e] for s, e in claim_spans(answer.answer)]
    for sentence in claims:
        if is_single_source_note(sentence):
            continue  # the single-source note is about the search, not a claim
        cited = {int(m) for m in MARKER.findall(sentence)}
        assert cited and cited <= markers, sentence


# --- attribution -------------------------------------------------------------------


ATTR = passages(
    ("Izvestia", "Putin and Trump agree", "Medinsky headed the Russian delegation."),
    ("NG (Nezavisimaya Gazeta)", "Negotiations stumbled", "Medinsky led the Russian side."),
    (None, "Point of no return: Russia and Ukraine have finally broken up",
     "Kyiv sabotaged the talks, the author writes."),
)


def test_a_sentence_cited_to_two_sources_names_both() -> None:
    cited = resolve_citations("Medinsky headed the Russian delegation [1][2].", ATTR)
    text = attribute_sentences(cited.text, cited.citations)
    assert text == ("According to Izvestia and NG (Nezavisimaya Gazeta), Medinsky headed "
                    "the Russian delegation [1][2].")


def test_a_lead_in_naming_one_of_two_sources_gets_the_other() -> None:
    cited = resolve_citations("According to Izvestia, Medinsky headed the Russian "
                              "delegation [1][2].", ATTR)
    text = attribute_sentences(cited.text, cited.citations)
    assert text.startswith("According to Izvestia and NG (Nezavisimaya Gazeta), Medinsky")


def test_three_sources_are_listed_with_a_final_and() -> None:
    cited = resolve_citations("Medinsky was there [1][2][3].", ATTR)
    text = attribute_sentences(cited.text, cited.citations)
    assert text.startswith("According to Izvestia, NG (Nezavisimaya Gazeta) and “Point of "
                           "no return: Russia and Ukraine have finally broken up”, Medinsky")


def test_a_sentence_that_names_its_source_in_its_own_words_is_left_alone() -> None:
    cited = resolve_citations("NG (Nezavisimaya Gazeta) reports Medinsky led [2].", ATTR)
    assert attribute_sentences(cited.text, cited.citations) == cited.text


def test_the_unverified_mark_stays_in_front_of_the_attribution() -> None:
    cited = resolve_citations("(unverified) Medinsky was there [1].", ATTR)
    text = attribute_sentences(cited.text, cited.citations)
    assert text == "(unverified) According to Izvestia, Medinsky was there [1]."
    assert claim_of(text, [p.label for p in ATTR]) == "Medinsky was there."


def test_the_claim_is_found_behind_every_lead_in_even_with_a_colon_in_the_title() -> None:
    labels = [p.label for p in ATTR]
    title = "“Point of no return: Russia and Ukraine have finally broken up”"
    for sentence in (f"According to {title}: “Kyiv sabotaged the talks.” [3]",
                     f"According to {title}, Kyiv sabotaged the talks [3].",
                     'According to "Point of no return: Russia and Ukraine have finally '
                     'broken up," Kyiv sabotaged the talks [3].',
                     "NG (Nezavisimaya Gazeta) reports instead: “Kyiv sabotaged the talks.”",
                     "Izvestia also reports: “Kyiv sabotaged the talks.” [1]",
                     "According to Izvestia,, Kyiv sabotaged the talks [1].",
                     "Kyiv sabotaged the talks, according to Izvestia [1].",
                     "According to Izvestia and NG (Nezavisimaya Gazeta), Kyiv sabotaged the "
                     "talks [1][2]."):
        assert claim_of(sentence, labels).rstrip(".") == "Kyiv sabotaged the talks", sentence
    # Without the labels, only the generic "According to X," form is recognised.
    assert strip_attribution("According to Reuters, it rained.") == "it rained."
    assert strip_attribution("Reuters reports it rained.") == "Reuters reports it rained."


# --- building blocks -----------------------------------------------------------------


def test_passages_are_taken_round_robin_per_source_and_grouped() -> None:
    ps = passages(("A", "a", "moratorium strikes energy one"),
                  ("A", "a", "moratorium strikes energy two"),
                  ("A", "a", "moratorium strikes energy three"),
                  ("B", "b", "moratorium strikes energy four"),
                  ("C", "c", "nothing relevant here at all"),
                  ("D", "d", "moratorium strikes energy five"))
    chosen = by_source(ps, "moratorium strikes energy", lambda _: 1.0, limit=4,
                       per_source=2, min_overlap=0.5)
    # A's best two, then B and D (C holds none of the question's words).
    assert [(p.label, p.text.split()[-1]) for p in chosen] == [
        ("A", "one"), ("A", "two"), ("B", "four"), ("D", "five")]
    assert [p.rank for p in chosen] == [1, 2, 3, 4]
    assert source_groups(chosen) == {"A": [1, 2], "B": [3], "D": [4]}
    # Every source's best passage comes before any source's second.
    narrow = by_source(ps, "moratorium strikes energy", lambda _: 1.0, limit=3,
                       per_source=2, min_overlap=0.5)
    assert [p.label for p in narrow] == ["A", "B", "D"]


def test_a_model_copying_out_one_source_is_cut_to_the_limit() -> None:
    ps = passages(("A", "a", "x"), ("B", "b", "y"))
    text = "One [1]. Two [1]. Three [1]. Other [2]. Other [2]."
    assert keep_per_source(text, ps, limit=2) == "One [1]. Two [1]. Other [2]."


# --- the service on the real news index -----------------------------------------------


@pytest.fixture(scope="module")
def service(news_settings: Settings) -> Pipeline:
    return Pipeline(news_settings)


def test_contested_question_sets_out_two_sources_side_by_side(
        service: Pipeline) -> None:
    answer = ask(service, CONTESTED_Q, perspectives=True)
    assert not answer.abstained and answer.generator == "extractive"
    labels = labels_of(answer)
    assert len(labels) >= 2, answer.answer
    # One account per source, each opening with its source's name, in that order.
    accounts = [answer.answer[s:e].strip() for s, e in claim_spans(answer.answer)]
    assert len(accounts) == len(labels)
    assert accounts[0].startswith(f"According to {labels[0]}:")
    for label, account in zip(labels[1:], accounts[1:], strict=True):
        assert re.match(rf"{re.escape(label)} (reports instead|also reports): “", account)
    assert_every_claim_cited(answer)
    # Each account is quoted from a passage of the source it is attributed to.
    by_marker = {c.marker: c for c in answer.citations}
    for account in accounts:
        (marker,) = {int(m) for m in MARKER.findall(account)}
        quote = claim_of(account, labels)
        assert quote and quote in by_marker[marker].text
    # Verified like any answer: every sentence checked, all supported.
    assert len(answer.verification) == len(accounts)
    assert all(c.supported for c in answer.verification) and answer.faithfulness == 1.0
    assert "verify" in answer.timings_ms


def test_perspectives_give_no_source_more_than_its_share_of_passages(
        service: Pipeline) -> None:
    plain = ask(service, CONTESTED_Q)
    side_by_side = ask(service, CONTESTED_Q, perspectives=True)
    share = PerspectivesAnswer.PASSAGES_PER_SOURCE
    # The premise: the plain top passages lean on one article.
    assert max(Counter(p.label for p in plain.passages).values()) > share
    per_source = Counter(p.label for p in side_by_side.passages)
    assert len(per_source) >= 2 and max(per_source.values()) <= share
    assert len(labels_of(side_by_side)) >= 2


def test_a_single_source_is_named_and_said_to_be_the_only_one(
        service: Pipeline) -> None:
    answer = ask(service, CONTESTED_Q, perspectives=True, filters=Filters(sources=["Izvestia"]))
    assert not answer.abstained
    assert labels_of(answer) == ["Izvestia"]
    assert answer.answer.startswith(prompt("perspectives_single"))
    assert "According to Izvestia" in answer.answer
    assert_every_claim_cited(answer)


def test_the_eval_judges_the_accounts_not_the_note(service: Pipeline,
                                                   news_settings: Settings) -> None:
    answer = ask(service, CONTESTED_Q, perspectives=True, filters=Filters(sources=["Izvestia"]))
    claims = answer_sentences(answer)
    assert claims and not any(is_single_source_note(c) for c, _ in claims)
    assert all(markers for _, markers in claims)
    scores = score_citations(answer, LexicalJudge())
    assert scores.sentences == len(claims) == scores.supported


def test_unanswerable_questions_still_abstain(service: Pipeline) -> None:
    answer = ask(service, "What is the capital of Australia?", perspectives=True)
    assert answer.abstained and answer.answer == prompt("abstain")


def test_the_llm_is_given_the_passages_grouped_by_source(news_settings: Settings) -> None:
    llm = ScriptedLLM(lambda messages: "NOT FOUND")
    answer = ask(pipeline_with_llm(news_settings, llm), CONTESTED_Q, perspectives=True)
    messages = llm.calls[0]
    user = messages[-1]["content"]
    groups = source_groups(answer.passages)
    assert len(groups) >= 2
    for label, numbers in groups.items():
        assert f"- {label}: " + ", ".join(f"[{n}]" for n in numbers) in user
    first = next(iter(groups))
    assert f"According to {first}, ..." in user
    assert "do not say which one is right" in messages[0]["content"]


class InstructedLLM:
    """A stand-in for a model that does what prompts/perspectives_*.md ask — one sentence
    per listed source, copied from its first passage — and then misbehaves like small
    models do: repeats one account and adds a stray NOT FOUND."""

    name = "instructed"

    def __init__(self) -> None:
        self.messages: list[dict[str, str]] = []

    def complete(self, messages: list[dict[str, str]], max_tokens: int) -> Completion:
        self.messages = messages
        user = messages[-1]["content"]
        blocks = dict(re.findall(r"^\[(\d+)\] Source: .*\n(.*)$", user, re.M))
        accounts = []
        for label, numbers in re.findall(r"^- (.+): \[(\d+)\]", user, re.M):
            text = blocks[numbers]
            start, end = split_sentences(text)[0]
            accounts.append(f"According to {label}, {text[start:end].rstrip('.')} [{numbers}].")
        return Completion(" ".join([*accounts, accounts[0], accounts[0], "NOT FOUND"]), 100, 50)

    def stream(self, messages: list[dict[str, str]], max_tokens: int) -> Iterator[str]:
        yield self.complete(messages, max_tokens).text

    def ping(self) -> str:
        return self.name


def test_an_llm_answer_is_trimmed_to_one_account_per_source_and_verified(
        news_settings: Settings) -> None:
    llm = InstructedLLM()
    answer = ask(pipeline_with_llm(news_settings, llm), CONTESTED_Q, perspectives=True)
    assert answer.generator == "openai" and not answer.fallback and not answer.abstained
    assert "Sources and their passages" in llm.messages[-1]["content"]
    assert "NOT FOUND" not in answer.answer
    accounts = [answer.answer[s:e].strip() for s, e in claim_spans(answer.answer)]
    assert len(accounts) == len(set(accounts)) == len(labels_of(answer)) >= 2
    for label, account in zip(labels_of(answer), accounts, strict=True):
        assert account.startswith(f"According to {label}, ")
    assert_every_claim_cited(answer)
    assert all(c.supported for c in answer.verification)


# --- surfaces ---------------------------------------------------------------------------


def test_rag_ask_perspectives_flag(news_settings: Settings, run_rag: RunRag) -> None:
    env = rag_env(news_settings.indexes_dir, RAG_GENERATOR="extractive")
    result = run_rag("ask", "--json", "--perspectives", CONTESTED_Q, env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    sources = {c["source"] or c["title"] for c in data["citations"]}
    assert len(sources) >= 2 and not data["abstained"]
    assert "reports" in data["answer"] and data["verification"]
    plain = run_rag("ask", CONTESTED_Q, "--perspectives", env=env)
    assert plain.returncode == 0 and "Sources:" in plain.stdout
    chat = subprocess.run(
        [sys.executable, "-m", "service.cli.main", "chat", "--perspectives"],
        input=f"{CONTESTED_Q}\n/quit\n", env=env, capture_output=True, text=True,
        timeout=300, cwd=ROOT)
    assert chat.returncode == 0, chat.stderr
    assert "side by side" in chat.stdout
    reply = chat.stdout.split("rag> ", 1)[1]
    assert "reports" in reply and "[2]" in reply.split("Sources:")[0]


def test_eval_run_on_contested_questions_in_perspectives_mode(
        news_settings: Settings, run_rag: RunRag, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = run_rag("eval", "run", "--generator", "extractive", "--type", "contested",
                     "--perspectives", "--out", str(out), "--quiet",
                     env=rag_env(news_settings.indexes_dir))
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "report.json").read_text())
    assert {row["type"] for row in report["rows"]} == {"contested"}
    assert report["config"]["perspectives"] is True
    assert report["metrics"]["attribution.rate"] > 0.5
    assert report["metrics"]["faithfulness"] == 1.0  # quotes, checked without the note


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    news_dir: Path = build_news_copy(tmp_path_factory.mktemp("perspectives"))
    env = rag_env(news_dir, RAG_GENERATOR="extractive")
    srv = Server(env, tmp_path_factory.mktemp("logs") / "server.log").wait_ready()
    yield srv
    srv.stop()


def test_api_ask_with_perspectives(server: Server) -> None:
    body = httpx.post(f"{server.url}/v1/ask", timeout=60,
                      json={"question": CONTESTED_Q, "perspectives": True}).json()
    assert not body["abstained"]
    assert len({c["source"] or c["title"] for c in body["citations"]}) >= 2
    for c in body["citations"]:
        assert f"[{c['marker']}]" in body["answer"]
    assert body["verification"] and all(v["supported"] for v in body["verification"])
    plain = httpx.post(f"{server.url}/v1/ask", timeout=60,
                       json={"question": CONTESTED_Q}).json()
    assert plain["answer"] != body["answer"]
    bad = httpx.post(f"{server.url}/v1/ask", timeout=60,
                     json={"question": CONTESTED_Q, "perspectives": "very"})
    assert bad.status_code == 400


def test_chat_completions_with_perspectives_stream_and_not(server: Server) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0,
                           timeout=60)
    messages = [{"role": "user", "content": CONTESTED_Q}]
    completion = client.chat.completions.create(
        model="news", messages=messages,  # type: ignore[arg-type]
        extra_body={"perspectives": True})
    content = completion.choices[0].message.content or ""
    extra = completion.model_extra or {}
    assert len({c["source"] or c["title"] for c in extra["citations"]}) >= 2
    assert "reports" in content
    stream = client.chat.completions.create(
        model="news", messages=messages, stream=True,  # type: ignore[arg-type]
        extra_body={"perspectives": True})
    chunks = list(stream)
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    last = chunks[-1].model_extra or {}
    assert streamed == content == last["answer"]  # composed first, then sent whole
    assert last["citations"] == extra["citations"]


@pytest.mark.llm
def test_the_local_model_writes_one_attributed_cited_account_per_source(
        news_settings: Settings) -> None:
    from tests.conftest import bundled_gguf

    bundled_gguf("qwen2.5-coder-1.5b")
    service = Pipeline(news_settings.model_copy(update={"generator": "local"}))
    answer = ask(service, "What did German Defense Minister Boris Pistorius say or announce?",
                 perspectives=True)
    assert answer.generator == "local" and not answer.fallback, answer.fallback
    assert not answer.abstained, answer.answer
    assert answer.usage["completion_tokens"] > 0 and answer.verification
    by_marker = {c.marker: c for c in answer.citations}
    per_source: dict[str, int] = {}
    for start, end in claim_spans(answer.answer):
        sentence = answer.answer[start:end]
        if is_single_source_note(sentence):
            continue
        markers = {int(m) for m in MARKER.findall(sentence)}
        assert markers, sentence  # every sentence cited, after repair
        for m in markers:
            label = by_marker[m].source or by_marker[m].title
            assert label.lower() in sentence.lower(), sentence  # and names its source
            per_source[label] = per_source.get(label, 0) + 1
    assert per_source and max(per_source.values()) <= 2
