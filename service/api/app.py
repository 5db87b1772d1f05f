"""The FastAPI application: state, middleware (middleware.py), error mapping
(error_handlers.py) and the routers.

Built by service/server.py, which also mounts the Slack surface; run with `rag serve`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from starlette.concurrency import run_in_threadpool

from service.api import routes_chat, routes_documents, routes_feedback, routes_ops, routes_web
from service.api.error_handlers import install_error_handlers
from service.api.jobs import JobRunner
from service.api.metrics import Metrics
from service.api.middleware import install_request_context
from service.config import Settings
from service.pipeline import Pipeline
from service.state.db import StateStore
from service.state.feedback import FeedbackStore
from service.state.legacy import open_state

#: Paths anyone may call, with or without an API key.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz"})


def create_app(settings: Settings | None = None, pipeline: Pipeline | None = None,
               routers: Iterable[APIRouter] = (),
               unauthenticated: frozenset[str] = frozenset(),
               state: StateStore | None = None) -> FastAPI:
    """`routers`: more surfaces to serve (Slack's), `unauthenticated`: their paths that
    authenticate requests themselves instead of by API key (Slack signs its requests),
    `state`: the state store they share (opened here when not given)."""
    settings = settings or Settings()
    if not logging.getLogger().handlers:  # a uvicorn worker process: nothing configured yet
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
    logging.getLogger("service").setLevel(logging.INFO)
    pipeline = pipeline or Pipeline(settings)
    metrics = Metrics()
    state = state or open_state(settings)
    jobs = JobRunner(settings, state)
    public_paths = PUBLIC_PATHS | unauthenticated | routes_web.PAGE_PATHS

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Load the default index (and the local model) before the first request.
        await run_in_threadpool(routes_ops.warm_up, pipeline)
        yield
        jobs.shutdown()
        state.close()

    app = FastAPI(title="rag-service", version="0.1.0", lifespan=lifespan,
                  description="Cited, faithful answers over document collections. "
                  "OpenAI-compatible chat at /v1/chat/completions (model = index name).")
    app.state.settings = settings
    app.state.pipeline = pipeline
    app.state.metrics = metrics
    app.state.jobs = jobs
    app.state.store = state
    app.state.feedback = FeedbackStore(state, surface="web")

    install_request_context(app, settings, metrics, public_paths,
                            public_prefixes=(routes_web.ASSETS_PATH + "/",))
    install_error_handlers(app, metrics)
    app.include_router(routes_ops.router)
    app.include_router(routes_chat.router)
    app.include_router(routes_documents.router)
    app.include_router(routes_feedback.router)
    routes_web.mount_page(app)
    for router in routers:
        app.include_router(router)
    return app
