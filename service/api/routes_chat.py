"""POST /v1/chat/completions (OpenAI format, streaming or not), GET /v1/models, POST /v1/ask."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from service.api.guards import check_client_generator, require_json
from service.api.schemas import AskBody, ChatCompletionRequest, error_body
from service.errors import RagError
from service.index.config import list_index_names, load_index_config
from service.records import Answer, public_answer

router = APIRouter()
log = logging.getLogger("service.api")
_END = object()


def _usage(answer: Answer) -> dict[str, int]:
    p, c = answer.usage.get("prompt_tokens", 0), answer.usage.get("completion_tokens", 0)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def _extensions(answer: Answer) -> dict[str, Any]:
    """Our fields beside OpenAI's: the openai SDK keeps unknown fields as extras."""
    public = public_answer(answer)
    return {"citations": public["citations"], "abstained": answer.abstained,
            "generator": answer.generator, "fallback": answer.fallback,
            "faithfulness": answer.faithfulness, "quoted": answer.quoted,
            "revised": answer.revised,
            "verification": public["verification"],
            "timings_ms": answer.timings_ms}


@router.get("/v1/models")
def list_models(request: Request) -> dict[str, Any]:
    settings = request.app.state.settings
    return {"object": "list", "data": [
        {"id": name, "object": "model", "created": 0, "owned_by": "rag-service"}
        for name in list_index_names(settings)]}


@router.post("/v1/ask", dependencies=[Depends(require_json)])
def ask(body: AskBody, request: Request) -> dict[str, Any]:
    state = request.app.state
    check_client_generator(state.settings, body.generator)
    answer = state.pipeline.ask(body)
    state.metrics.observe_answer(answer)
    return public_answer(answer)


@router.post("/v1/chat/completions", response_model=None,
             dependencies=[Depends(require_json)])
async def chat_completions(body: ChatCompletionRequest,
                           request: Request) -> dict[str, Any] | StreamingResponse:
    state = request.app.state
    load_index_config(state.settings, body.model)  # unknown index: 404 before any work
    completion_id = f"chatcmpl-{request.state.request_id}"
    created = int(time.time())
    ask = body.ask_request()
    if not body.stream:
        answer: Answer = await run_in_threadpool(state.pipeline.ask, ask)
        state.metrics.observe_answer(answer)
        return {
            "id": completion_id, "object": "chat.completion", "created": created,
            "model": body.model,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": answer.answer}}],
            "usage": _usage(answer), **_extensions(answer),
        }
    # With `perspectives` the answer is composed whole, then sent as one delta.
    events = state.pipeline.stream(ask)
    # Fail before the 200 if the question or the index is bad: run up to the first event.
    first = await run_in_threadpool(next, events, _END)
    return StreamingResponse(
        _sse(request, events, first, completion_id, created, body.model),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


def _chunk(completion_id: str, created: int, model: str, delta: dict[str, Any],
           finish: str | None = None, **extra: Any) -> str:
    body = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
            "model": model, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


async def _sse(request: Request, events: Iterator[str | Answer], first: object,
               completion_id: str, created: int, model: str) -> AsyncIterator[str]:
    """Server-sent events in OpenAI's chunk format; the last chunk before [DONE] carries
    the citations. A client that goes away stops the generator (and so the LLM)."""
    state = request.app.state
    item = first
    finished = False
    try:
        yield _chunk(completion_id, created, model, {"role": "assistant", "content": ""})
        while item is not _END:
            if isinstance(item, Answer):
                state.metrics.observe_answer(item)
                yield _chunk(completion_id, created, model, {}, "stop", usage=_usage(item),
                             answer=item.answer, **_extensions(item))
            elif item:
                yield _chunk(completion_id, created, model, {"content": item})
            if await request.is_disconnected():
                return
            item = await run_in_threadpool(next, events, _END)
        yield "data: [DONE]\n\n"
        finished = True
    except RagError as exc:
        finished = True
        state.metrics.errors.labels(exc.code).inc()
        yield f"data: {json.dumps(error_body(str(exc), 'server_error', exc.code))}\n\n"
    finally:
        # Here too when Starlette cancels this generator because the client went away.
        if not finished:
            state.metrics.errors.labels("client_disconnected").inc()
        # Shielded: inside a cancelled scope anyio cancels every await again, so an
        # unshielded close never ran and the abandoned stream kept the model held.
        with anyio.CancelScope(shield=True):
            await run_in_threadpool(_close, events, state.settings.llm_timeout_s + 5)


def _close(events: Iterator[str | Answer], patience_s: float) -> None:
    """Close the answer's generator, so the LLM stops and lets go of the model. It may
    still be inside a step in another thread (reading a long prompt takes seconds):
    retry until that step is over; giving up early would leave the model held."""
    close = getattr(events, "close", None)
    if close is None:
        return
    deadline = time.monotonic() + patience_s
    while True:
        try:
            close()
            return
        except ValueError:  # "generator already executing"
            if time.monotonic() > deadline:
                log.warning("an abandoned answer stream could not be closed")
                return
            time.sleep(0.05)
