"""👍/👎 feedback from every surface (Slack, the web page), in the state store.

Each stored answer names the surface it was given on; `rag feedback export` writes one
JSON line per verdict with that surface. Replicas share the store, so verdicts given
through any of them export together.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import func, select

from service.records import Answer, Citation
from service.state.db import StateStore, upsert
from service.state.schema import answers, feedback

Verdict = Literal["up", "down"]
Surface = Literal["slack", "web"]


class AnsweredQuestion(BaseModel):
    """What a surface that does not hold the `Answer` record (the web page) sends back
    with a verdict: the answer as it was shown."""

    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    index: str
    generator: str
    faithfulness: float | None = None


class FeedbackRecord(BaseModel):
    """One exported line: what was asked, what was answered and cited, and the verdict."""

    answer_id: str
    surface: Surface
    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    index: str
    generator: str
    faithfulness: float | None
    user: str
    verdict: Verdict
    comment: str | None
    time: dt.datetime
    channel: str | None
    thread_ts: str | None


class FeedbackStore:
    """Answers given on one surface and the verdicts people gave them."""

    def __init__(self, state: StateStore, surface: Surface | None = None) -> None:
        """`surface` names where answers saved through this store were given; a store
        opened without one (the export) only reads."""
        self._state = state
        self.surface = surface

    def save_answer(self, answer: Answer | AnsweredQuestion, *, user: str,
                    channel: str | None = None, thread_ts: str | None = None,
                    team: str | None = None, answer_id: str | None = None) -> str:
        """Keep an answer so verdicts can point at it; an `answer_id` already stored is
        left as it was (a second verdict on the same answer)."""
        if self.surface is None:
            raise ValueError("this feedback store was opened without a surface: read-only")
        answer_id = answer_id or uuid.uuid4().hex
        citations = json.dumps([c.model_dump(mode="json") for c in answer.citations],
                               ensure_ascii=False)
        row = {"answer_id": answer_id, "created_at": now_iso(), "team": team,
               "channel": channel, "thread_ts": thread_ts, "user_id": user,
               "index_name": answer.index, "question": answer.question,
               "answer": answer.answer, "abstained": answer.abstained,
               "generator": answer.generator, "faithfulness": answer.faithfulness,
               "citations": citations, "surface": self.surface}
        with self._state.engine.begin() as db:
            db.execute(upsert(self._state, answers).values(**row).on_conflict_do_nothing())
        return answer_id

    def record_feedback(self, answer_id: str, user: str, verdict: Verdict,
                        comment: str | None = None) -> bool:
        """Store (or change) one user's verdict on an answer; False if the answer is unknown."""
        with self._state.engine.begin() as db:
            if db.execute(select(answers.c.answer_id).where(
                    answers.c.answer_id == answer_id)).first() is None:
                return False
            stmt = upsert(self._state, feedback).values(
                answer_id=answer_id, user_id=user, verdict=verdict, created_at=now_iso(),
                comment=comment or None)
            db.execute(stmt.on_conflict_do_update(
                index_elements=[feedback.c.answer_id, feedback.c.user_id],
                set_={"verdict": stmt.excluded.verdict, "created_at": stmt.excluded.created_at,
                      "comment": func.coalesce(stmt.excluded.comment, feedback.c.comment)}))
        return True

    def feedback(self) -> Iterator[FeedbackRecord]:
        """Every verdict of every surface, oldest first."""
        query = (select(answers.c.answer_id, answers.c.surface, answers.c.question,
                        answers.c.answer, answers.c.abstained, answers.c.citations,
                        answers.c.index_name, answers.c.generator, answers.c.faithfulness,
                        feedback.c.user_id, feedback.c.verdict, feedback.c.comment,
                        feedback.c.created_at, answers.c.channel, answers.c.thread_ts)
                 .join(answers, answers.c.answer_id == feedback.c.answer_id)
                 .order_by(feedback.c.created_at, answers.c.answer_id))
        with self._state.engine.connect() as db:
            rows = db.execute(query).all()
        for row in rows:
            yield FeedbackRecord(**_record(tuple(row)))


def _record(row: tuple[Any, ...]) -> dict[str, Any]:
    keys = ("answer_id", "surface", "question", "answer", "abstained", "citations", "index",
            "generator", "faithfulness", "user", "verdict", "comment", "time", "channel",
            "thread_ts")
    data = dict(zip(keys, row, strict=True))
    data["abstained"] = bool(data["abstained"])
    data["citations"] = json.loads(data["citations"])
    data["channel"] = data["channel"] or None
    return data


def now_iso() -> str:
    """Microseconds, so verdicts given within one second export in the order given."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
