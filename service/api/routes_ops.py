"""GET /healthz (alive), /readyz (index loaded, generator reachable), /metrics."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from service.answer import AnswerService
from service.config import Settings
from service.errors import RagError

router = APIRouter()
log = logging.getLogger("service.api")


def warm_up(answers: AnswerService, settings: Settings) -> None:
    """Load what the first request would otherwise wait for; failures show in /readyz."""
    try:
        answers.retriever(settings.index).snapshot()
        if settings.generator == "local":
            answers.llm("local")
    except RagError as exc:
        log.warning("warm-up: %s", exc)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _generator_check(answers: AnswerService, settings: Settings) -> tuple[bool, str]:
    if settings.generator == "extractive":
        return True, "extractive (no LLM)"
    if settings.generator == "local":
        try:
            return True, answers.llm("local").name
        except RagError as exc:
            return False, str(exc)
    url = f"{settings.openai_base_url or 'https://api.openai.com/v1'}/models"
    headers = {"Authorization": f"Bearer {settings.openai_api_key}"} if (
        settings.openai_api_key) else {}
    try:
        status = httpx.get(url, headers=headers, timeout=3).status_code
    except httpx.HTTPError as exc:
        return False, f"{url} unreachable: {exc}"
    return status < 500, f"{url} answered {status}"


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    settings: Settings = state.settings
    checks: dict[str, Any] = {}
    try:
        snap = state.answers.retriever(settings.index).snapshot()
        checks["index"] = {"ok": True, "name": settings.index, "generation": snap.generation,
                           "chunks": len(snap.chunks)}
    except RagError as exc:
        checks["index"] = {"ok": False, "name": settings.index, "detail": str(exc)}
    ok, detail = _generator_check(state.answers, settings)
    checks["generator"] = {"ok": ok, "name": settings.generator, "detail": detail}
    ready = all(c["ok"] for c in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(),
                    media_type="text/plain; version=0.0.4; charset=utf-8")
