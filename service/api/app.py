"""The FastAPI application: the edge (request ids, access log, auth, body caps), error
mapping, routers.

Run with `rag serve`, or `uvicorn --factory service.api.app:create_app`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from service.answer import AnswerService
from service.api import routes_chat, routes_documents, routes_ops
from service.api.edge import EdgeMiddleware, EdgePolicy
from service.api.error_map import install_error_handlers
from service.api.jobs import JobRunner
from service.api.metrics import Metrics
from service.config import Settings
from service.slack.bot import SlackBot
from service.slack.http import SLACK_PATHS, slack_router

#: Paths anyone may call, with or without an API key.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    if not logging.getLogger().handlers:  # a uvicorn worker process: nothing configured yet
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("service").setLevel(logging.INFO)
    answers = AnswerService(settings)
    metrics = Metrics()
    jobs = JobRunner(settings)

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

    install_error_handlers(app, metrics)
    app.add_middleware(EdgeMiddleware, metrics=metrics, policy=EdgePolicy(
        keys=settings.api_key_set(), public_paths=PUBLIC_PATHS | SLACK_PATHS,
        max_body_bytes=settings.max_body_bytes,
        max_upload_request_bytes=settings.max_upload_request_bytes,
        log_json=settings.log_json))
    app.include_router(routes_ops.router)
    app.include_router(routes_chat.router)
    app.include_router(routes_documents.router)
    if settings.slack_http_enabled():
        app.state.slack = SlackBot(settings, answers, settings.slack_signing_secret)
        app.include_router(slack_router(app.state.slack, settings.slack_signing_secret or ""))
    return app


def state(request: Request) -> Any:
    return request.app.state
