"""The HTTP server's composition root: the API app, and the Slack bot's route when Slack
is configured, over one answering pipeline. `rag serve` runs
`uvicorn --factory service.server:create_app`."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI

from service.api.app import create_app as create_api
from service.api.guards import check_client_generator_setting
from service.config import Settings
from service.pipeline import Pipeline
from service.slack.bot import SlackBot
from service.slack.http import SLACK_PATHS, slack_router
from service.state.legacy import open_state


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    check_client_generator_setting(settings)
    pipeline = Pipeline(settings)
    state = open_state(settings)
    routers: list[APIRouter] = []
    bot = None
    if settings.slack_http_enabled():
        bot = SlackBot(settings, pipeline, state, settings.slack_signing_secret)
        routers.append(slack_router(bot))
    app = create_api(settings, pipeline, routers, unauthenticated=SLACK_PATHS, state=state)
    app.state.slack = bot
    return app
