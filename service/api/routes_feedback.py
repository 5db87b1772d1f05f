"""POST /v1/feedback: a 👍/👎 (with an optional comment) on an answer shown by the web page,
stored in the feedback store Slack's verdicts go to (`rag feedback export`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from service.state.feedback import AnsweredQuestion, FeedbackStore, Verdict

router = APIRouter()
_ID = r"^[A-Za-z0-9._:-]{1,100}$"


class FeedbackRequest(BaseModel):
    model_config = {"extra": "forbid"}
    answer_id: str = Field(pattern=_ID, description="The chat completion's `id`.")
    user: str = Field(pattern=_ID, description="Who gives the verdict (the page sends an "
                      "anonymous id kept in the browser).")
    verdict: Verdict
    comment: str | None = Field(default=None, max_length=4000)
    answer: AnsweredQuestion = Field(description="The answer as it was shown.")


def _save(store: FeedbackStore, body: FeedbackRequest) -> bool:
    answer_id = store.save_answer(body.answer, user=body.user, answer_id=body.answer_id)
    return store.record_feedback(answer_id, body.user, body.verdict, body.comment)


@router.post("/v1/feedback")
async def give_feedback(body: FeedbackRequest, request: Request) -> dict[str, Any]:
    stored = await run_in_threadpool(_save, request.app.state.feedback, body)
    return {"object": "feedback", "answer_id": body.answer_id, "verdict": body.verdict,
            "stored": stored}
