"""The FastAPI application: request ids, access log, auth, error mapping, routers.

Run with `rag serve`, or `uvicorn --factory service.api.app:create_app`.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from service.answer import AnswerService
from service.api import routes_chat, routes_documents, routes_feedback, routes_ops, routes_web
from service.api.jobs import JobRunner
from service.api.metrics import Metrics
from service.api.schemas import error_body
from service.config import Settings
from service.errors import RagError
from service.slack.bot import SlackBot
from service.slack.http import SLACK_PATHS, slack_router

access_log = logging.getLogger("service.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
#: Paths anyone may call, with or without an API key.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})


def _error_type(status: int) -> str:
    return {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
            409: "conflict_error", 413: "invalid_request_error", 415: "invalid_request_error",
            422: "invalid_request_error"}.get(status, "server_error" if status >= 500
                                             else "invalid_request_error")


def error_response(status: int, message: str, code: str, param: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(message, _error_type(status), code, param),
                        status_code=status, headers=headers)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    if not logging.getLogger().handlers:  # a uvicorn worker process: nothing configured yet
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("service").setLevel(logging.INFO)
    answers = AnswerService(settings)
    metrics = Metrics()
    jobs = JobRunner(settings)
    keys = settings.api_key_set()
    public_paths = PUBLIC_PATHS | SLACK_PATHS  # Slack signs its requests instead

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Load the default index (and the local model) before the first request.
        await run_in_threadpool(routes_ops.warm_up, answers, settings)
        yield
        jobs.shutdown()

    app = FastAPI(title="rag-service", version="0.1.0", lifespan=lifespan,
                  description="Cited, faithful answers over document collections. "
                  "OpenAI-compatible chat at /v1/chat/completions (model = index name).")
    app.state.settings = settings
    app.state.answers = answers
    app.state.metrics = metrics
    app.state.jobs = jobs

    @app.middleware("http")
    async def request_context(request: Request,
                              call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        incoming = request.headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.state.request_id = request_id
        started = time.perf_counter()
        url_path = request.url.path
        public = url_path in public_paths or routes_web.is_page_path(url_path)
        if keys and not public and not _authorised(request, keys):
            response: Response = error_response(
                401, "missing or invalid API key: send `Authorization: Bearer <key>`",
                "invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
            metrics.errors.labels("invalid_api_key").inc()
        else:
            response = await call_next(request)
        response.headers["X-Request-ID"] = request_id
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        elapsed = time.perf_counter() - started
        metrics.requests.labels(request.method, path, str(response.status_code)).inc()
        metrics.latency.labels(path).observe(elapsed)
        if settings.log_json:
            access_log.info(json.dumps({
                "ts": round(time.time(), 3), "request_id": request_id,
                "method": request.method, "path": request.url.path, "route": path,
                "status": response.status_code, "duration_ms": round(elapsed * 1000, 1),
                "client": request.client.host if request.client else None,
            }))
        return response

    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError) -> JSONResponse:
        metrics.errors.labels(exc.code).inc()
        return error_response(exc.http_status, str(exc), exc.code)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        metrics.errors.labels("invalid_request").inc()
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'body'}: {e['msg']}"
            for e in exc.errors())
        first = exc.errors()[0]["loc"] if exc.errors() else ()
        param = ".".join(str(p) for p in first if p != "body") or None
        return error_response(400, f"invalid request: {problems}", "invalid_request", param)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        metrics.errors.labels("internal").inc()
        logging.getLogger("service.api").exception("unhandled error")
        return error_response(500, f"internal error ({type(exc).__name__}); request id "
                              f"{getattr(request.state, 'request_id', '?')}", "internal_error")

    app.include_router(routes_ops.router)
    app.include_router(routes_chat.router)
    app.include_router(routes_documents.router)
    app.include_router(routes_feedback.router)
    routes_web.mount_page(app)
    if settings.slack_http_enabled():
        app.state.slack = SlackBot(settings, answers, settings.slack_signing_secret)
        app.include_router(slack_router(app.state.slack))
    return app


def _authorised(request: Request, keys: frozenset[str]) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return any(secrets.compare_digest(token.strip(), key) for key in keys)


def state(request: Request) -> Any:
    return request.app.state
