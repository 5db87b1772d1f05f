"""POST /slack/events on the FastAPI app: events, slash commands and button clicks.

Slack authenticates with its request signature (checked by Bolt: a bad or stale one gets
401 and nothing runs), not with our API keys. Bolt's dispatch blocks until the listener
acks, so it runs in the thread pool, never on the event loop.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from starlette.concurrency import run_in_threadpool

from service.slack.bot import SlackBot

#: Paths that carry Slack's signature instead of a bearer key.
SLACK_PATHS = frozenset({"/slack/events"})


def slack_router(bot: SlackBot) -> APIRouter:
    router = APIRouter()

    @router.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        response = await run_in_threadpool(bot.app.dispatch, to_bolt_request(request, body))
        return to_starlette_response(response)

    return router
