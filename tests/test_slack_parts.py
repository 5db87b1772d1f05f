"""The Slack bot's parts on their own: Block Kit rendering within Slack's limits, rate
limits and dedupe in the state store (both backends: `state_store`), question text."""

from __future__ import annotations

import threading

import pytest

from service.records import Answer, Citation, Location, SentenceCheck
from service.slack.blocks import (
    MESSAGE_MAX_BLOCKS,
    SECTION_MAX_CHARS,
    TEXT_MAX_CHARS,
    render_answer,
    split_text,
)
from service.slack.bot import parse_flags, question_text
from service.slack.limits import WINDOW_S, RateLimiter
from service.state.db import StateStore
from service.state.events import SeenEvents
from service.state.feedback import FeedbackStore
from service.state.rate_limits import RateCounters


def citation(marker: int, text: str = "Medinsky headed the Russian delegation.") -> Citation:
    return Citation(marker=marker, doc_id=f"{marker:03d}.txt", title=f"Article {marker}",
                    source="Outlet <X>", url=f"https://example.org/{marker}", text=text,
                    start=0, end=len(text))


def answer(text: str, citations: list[Citation], **extra: object) -> Answer:
    return Answer(answer=text, abstained=False, citations=citations, generator="extractive",
                  question="Who headed it?", standalone_question="Who headed it?",
                  index="news", timings_ms={"total": 1234.0}, **extra)  # type: ignore[arg-type]


def all_texts(blocks: list[dict]) -> list[str]:
    out = []
    for block in blocks:
        if "text" in block:
            out.append(block["text"]["text"])
        out += [e["text"] for e in block.get("elements", []) if isinstance(e.get("text"), str)]
    return out


def test_answer_renders_markers_sources_quotes_links_and_buttons() -> None:
    [message] = render_answer(answer("Medinsky headed it [1].", [citation(1)]), "a1")
    texts = all_texts(message.blocks)
    assert texts[0] == "Medinsky headed it [1]."
    assert "*Sources*" in texts
    source = next(t for t in texts if t.startswith("*[1]*"))
    # a link to the document, the outlet escaped for mrkdwn, and a quote
    assert "<https://example.org/1|Article 1>" in source and "Outlet &lt;X&gt;" in source
    assert "\n>Medinsky headed the Russian delegation." in source
    actions = message.blocks[-1]
    assert actions["type"] == "actions"
    assert {e["value"] for e in actions["elements"]} == {"a1"}


def test_a_source_names_where_in_its_file_the_passage_is() -> None:
    located = citation(1).model_copy(update={"location": Location(
        kind="sheet", label="sheet Payments, rows 4-9", sheet="Payments", row_from=4,
        row_to=9)})
    [message] = render_answer(answer("Invoice 0417 is on hold [1].", [located]), "a1")
    source = next(t for t in all_texts(message.blocks) if t.startswith("*[1]*"))
    assert "· _sheet Payments, rows 4-9_\n>" in source


def test_unverified_sentences_are_flagged() -> None:
    """Contradicted: a warning; not found in the passages: a soft note."""
    checks = [SentenceCheck(sentence="Umerov headed it.", markers=[1], supported=False,
                            score=0.1, action="marked", verdict="contradicted"),
              SentenceCheck(sentence="It rained.", markers=[1], supported=False,
                            score=0.1, action="marked", verdict="not_found")]
    [message] = render_answer(answer("(contradicted) Umerov headed it [1]. (unverified) It "
                                     "rained [1].", [citation(1)],
                                     verification=checks, faithfulness=0.0), "a2")
    texts = all_texts(message.blocks)
    assert texts[0].startswith(":warning: _contradicted by the source:_ Umerov")
    assert "_(not found in the sources)_ It rained" in texts[0]
    assert any(t.startswith(":warning: 1 sentence(s) contradicted") for t in texts)
    assert any(t.startswith(":grey_question: 1 sentence(s) not found") for t in texts)


def test_a_second_answer_says_so_and_its_own_support() -> None:
    """`faithfulness` describes the model's first answer (0 % here); the footer gives the
    support of the sentences shown, and says the answer was asked again."""
    checks = [SentenceCheck(sentence="Medinsky headed it.", markers=[1], supported=True,
                            score=0.8, action="kept", verdict="supported")]
    [message] = render_answer(answer("Medinsky headed it [1].", [citation(1)],
                                     verification=checks, faithfulness=0.0, revised=True),
                              "a5")
    footer = next(t for t in all_texts(message.blocks) if t.startswith("index `news`"))
    assert "answered again after checking" in footer and "verified support 100%" in footer
    [quoted] = render_answer(answer("“Medinsky headed it.” [1]", [citation(1)], quoted=True),
                             "a6")
    footer = next(t for t in all_texts(quoted.blocks) if t.startswith("index `news`"))
    assert "quoted: the model found no answer" in footer and "fallback" not in footer


def test_abstention_says_plainly_the_collection_does_not_answer() -> None:
    abstained = Answer(answer="The sources in this collection do not contain the answer.",
                       abstained=True, citations=[], generator="extractive", question="q",
                       standalone_question="q", index="news", timings_ms={})
    [message] = render_answer(abstained, "a3")
    texts = all_texts(message.blocks)
    assert "do not contain the answer" in texts[0] and "*Sources*" not in texts


def test_long_answers_are_split_within_slack_limits() -> None:
    sentence = "Medinsky headed the Russian delegation at the talks in Istanbul [1]. "
    long_text = sentence * 600  # ~41,000 characters
    citations = [citation(i, "word " * 400) for i in range(1, 61)]
    messages = render_answer(answer(long_text, citations), "a4")
    assert len(messages) > 1
    for message in messages:
        assert len(message.blocks) <= MESSAGE_MAX_BLOCKS
        assert len(message.text) <= TEXT_MAX_CHARS
        for text in all_texts(message.blocks):
            assert len(text) <= SECTION_MAX_CHARS
    sections = [t for m in messages for t in all_texts(m.blocks)]
    # nothing of the answer is lost, and it is cut between sentences
    body = [t for t in sections if t.startswith("Medinsky")]
    assert sum(t.count("[1].") for t in body) == 600
    assert all(t.endswith("[1].") for t in body)
    assert messages[-1].blocks[-1]["type"] == "actions"


def test_split_text_cuts_unbreakable_text_hard() -> None:
    pieces = split_text("x" * 7000, 3000)
    assert [len(p) for p in pieces] == [3000, 3000, 1000]


def test_rate_limiter_counts_per_user_and_channel_and_frees_after_the_window(
        state_store: StateStore) -> None:
    now = [1000.0]
    limiter = RateLimiter(RateCounters(state_store), per_user=2, per_channel=3,
                          clock=lambda: now[0])
    assert limiter.check("u1", "c1") == 0 and limiter.check("u1", "c1") == 0
    assert limiter.check("u1", "c2") == pytest.approx(WINDOW_S)  # user limit
    assert limiter.check("u2", "c1") == 0
    assert limiter.check("u3", "c1") > 0  # channel limit (3) reached
    now[0] = 1000.0 + WINDOW_S + 0.1
    assert limiter.check("u1", "c2") == 0


def test_limits_hold_across_replicas_sharing_the_store(state_store: StateStore) -> None:
    replicas = [RateLimiter(RateCounters(StateStore(state_store.url)), per_user=3,
                            per_channel=100) for _ in range(2)]
    admitted: list[float] = []
    threads = [threading.Thread(target=lambda r=r: admitted.append(r.check("u1", "c1")))
               for r in replicas for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(w == 0 for w in admitted) == [False] * 5 + [True] * 3


def test_store_dedupes_events_across_threads(state_store: StateStore) -> None:
    store = SeenEvents(state_store)
    results: list[bool] = []
    threads = [threading.Thread(target=lambda: results.append(store.first_sighting("Ev1")))
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False] * 7 + [True]
    assert SeenEvents(StateStore(state_store.url)).first_sighting("Ev1") is False


def test_store_keeps_one_verdict_per_user_and_refuses_unknown_answers(
        state_store: StateStore) -> None:
    store = FeedbackStore(state_store, surface="slack")
    answer_id = store.save_answer(answer("Medinsky headed it [1].", [citation(1)]),
                                  user="U1", channel="C1", thread_ts="1.0", team="T1")
    assert store.record_feedback(answer_id, "U2", "up")
    assert store.record_feedback(answer_id, "U2", "down")  # changed their mind
    assert not store.record_feedback("no-such-answer", "U2", "up")
    [record] = list(store.feedback())
    assert record.verdict == "down" and record.user == "U2"
    assert record.question == "Who headed it?" and record.citations[0].doc_id == "001.txt"


def test_question_text_drops_mentions() -> None:
    assert question_text("<@UBOT>  Who headed <@U2|ann> it? ") == "Who headed it?"


def test_leading_flags_are_read_and_removed() -> None:
    assert parse_flags("-p --perspectives Who -p?") == ({"private", "perspectives"}, "Who -p?")
    assert parse_flags("Who headed it?") == (set(), "Who headed it?")


def test_app_manifest_matches_what_the_bot_serves() -> None:
    import json

    from service.slack.http import SLACK_PATHS
    from tests.conftest import ROOT

    manifest = json.loads((ROOT / "deploy" / "slack-app-manifest.json").read_text())
    settings = manifest["settings"]
    assert set(settings["event_subscriptions"]["bot_events"]) == {"app_mention", "message.im"}
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/ask"
    urls = {settings["event_subscriptions"]["request_url"],
            settings["interactivity"]["request_url"], command["url"]}
    assert {url.removeprefix("https://YOUR-HOST") for url in urls} == set(SLACK_PATHS)
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"app_mentions:read", "chat:write", "commands", "im:history",
            "channels:history"} <= scopes


