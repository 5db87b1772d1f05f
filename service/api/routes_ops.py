"""GET /healthz (alive), /readyz (index loaded, generator reachable), /metrics."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from service.config import Settings
from service.errors import RagError
from service.generation.backends import GENERATORS
from service.pipeline import Pipeline

router = APIRouter()
log = logging.getLogger("service.api")


def warm_up(pipeline: Pipeline) -> None:
    """Load what the first request would otherwise wait for; failures show in /readyz."""
    settings = pipeline.settings
    try:
        pipeline.resources.retriever(settings.index).manifest()
        ok, detail = pipeline.resources.generator(settings.generator).ready()
    except RagError as exc:
        log.warning("warm-up: %s", exc)
        return
    if ok:
        log.info("generator %r ready: %s", settings.generator, detail)
    else:
        log.warning("generator %r not ready: %s; answers use the extractive generator, "
                    "labelled as a fallback, until it is", settings.generator, detail)
    threading.Thread(target=_warm_judge, args=(pipeline,), name="warm-judge",
                     daemon=True).start()


def _warm_judge(pipeline: Pipeline) -> None:
    """In the background: the server is ready meanwhile, answers just verify colder."""
    t0 = time.perf_counter()
    try:
        units = pipeline.resources.warm_judge(pipeline.settings.index)
    except RagError as exc:
        log.warning("warm-up of the verifier: %s", exc)
        return
    if units:
        log.info("verifier warmed: %d sentences encoded in %.1fs", units,
                 time.perf_counter() - t0)


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    settings: Settings = state.settings
    checks: dict[str, Any] = {}
    try:
        manifest = state.pipeline.resources.retriever(settings.index).manifest()
        checks["index"] = {"ok": True, "name": settings.index,
                           "backend": settings.retrieval_backend,
                           "generation": manifest.generation, "chunks": manifest.chunks}
    except RagError as exc:
        checks["index"] = {"ok": False, "name": settings.index, "detail": str(exc)}
    ok, detail = state.pipeline.resources.generator(settings.generator).ready()
    checks["generator"] = {"ok": ok, "name": settings.generator, "detail": detail,
                           "registered": GENERATORS.names()}
    ready = all(c["ok"] for c in checks.values())
    return JSONResponse({"status": "ready" if ready else "not ready", "checks": checks},
                        status_code=200 if ready else 503)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(),
                    media_type="text/plain; version=0.0.4; charset=utf-8")
