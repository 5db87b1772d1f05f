"""The feedback store every surface writes to (service/state/feedback.py), on both
backends, and the import of the feedback file older versions kept (RAG_SLACK_DB)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from service.state.db import StateStore
from service.state.events import SeenEvents
from service.state.feedback import AnsweredQuestion, FeedbackStore
from service.state.legacy import import_legacy_feedback
from tests.test_slack_parts import answer, citation

#: The schema of files written before the `surface` and `comment` columns existed.
OLD_SCHEMA = """
CREATE TABLE answers (answer_id TEXT PRIMARY KEY, created_at TEXT NOT NULL, team TEXT,
    channel TEXT NOT NULL, thread_ts TEXT, user TEXT NOT NULL, index_name TEXT NOT NULL,
    question TEXT NOT NULL, answer TEXT NOT NULL, abstained INTEGER NOT NULL,
    generator TEXT NOT NULL, faithfulness REAL, citations TEXT NOT NULL);
CREATE TABLE feedback (answer_id TEXT NOT NULL REFERENCES answers(answer_id),
    user TEXT NOT NULL, verdict TEXT NOT NULL CHECK (verdict IN ('up', 'down')),
    created_at TEXT NOT NULL, PRIMARY KEY (answer_id, user));
INSERT INTO answers VALUES ('a1', '2026-11-20T10:00:00+00:00', 'T1', 'C1', '1.0', 'U1', 'news',
    'Who headed it?', 'Medinsky [1].', 0, 'local', 1.0, '[]');
INSERT INTO feedback VALUES ('a1', 'U2', 'up', '2026-11-20T10:01:00+00:00');
CREATE TABLE seen_events (event_id TEXT PRIMARY KEY, seen_at REAL NOT NULL);
INSERT INTO seen_events VALUES ('Ev1', 4102444800.0);
"""


def web_answer() -> AnsweredQuestion:
    return AnsweredQuestion(question="Who headed it?", answer="Medinsky headed it [1].",
                            abstained=False, citations=[citation(1)], index="news",
                            generator="extractive", faithfulness=1.0)


def test_a_legacy_feedback_file_is_imported_once_and_its_answers_are_slacks(
        state_store: StateStore, tmp_path: Path) -> None:
    path = tmp_path / "slack.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SCHEMA)
    assert import_legacy_feedback(state_store, path) == 1
    assert not path.exists() and path.with_name("slack.sqlite3.imported").exists()
    web = FeedbackStore(state_store, surface="web")
    assert web.record_feedback(web.save_answer(web_answer(), user="web-1"), "web-1", "down",
                               "wrong person")
    old, new = list(FeedbackStore(state_store).feedback())
    assert (old.surface, old.verdict, old.comment, old.channel) == ("slack", "up", None, "C1")
    assert (new.surface, new.verdict, new.comment, new.channel) == ("web", "down",
                                                                    "wrong person", None)
    assert not SeenEvents(state_store).first_sighting("Ev1")  # a retry after the upgrade


def test_slack_and_web_verdicts_share_one_store_and_keep_their_surface(
        state_store: StateStore) -> None:
    slack = FeedbackStore(state_store, surface="slack")
    slack_id = slack.save_answer(answer("Medinsky headed it [1].", [citation(1)]), user="U1",
                                 channel="C1", thread_ts="1.0", team="T1")
    slack.record_feedback(slack_id, "U2", "up")
    web = FeedbackStore(StateStore(state_store.url), surface="web")  # another replica
    web_id = web.save_answer(web_answer(), user="web-1", answer_id="chatcmpl-1")
    assert web.save_answer(web_answer(), user="web-1", answer_id="chatcmpl-1") == web_id
    web.record_feedback(web_id, "web-1", "up", "clear")
    web.record_feedback(web_id, "web-1", "down")  # changed their mind, comment kept
    records = {r.answer_id: r for r in FeedbackStore(state_store).feedback()}
    assert records[slack_id].surface == "slack" and records[slack_id].channel == "C1"
    assert records["chatcmpl-1"].surface == "web"
    assert (records["chatcmpl-1"].verdict, records["chatcmpl-1"].comment) == ("down", "clear")
