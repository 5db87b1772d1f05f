"""POST /slack/events on the FastAPI app: events, slash commands and button clicks.

Slack authenticates with its request signature, not with our API keys. The order is
the defence:

1. the body is read under the edge's size cap (RAG_MAX_BODY_BYTES: 413 past it);
2. the signature is checked over the raw bytes before anything is parsed: missing,
   malformed (a non-numeric timestamp), stale (over 5 minutes) or wrong → 401;
3. only a signed body is parsed: not UTF-8, not JSON, a JSON value that is not an
   object, an unparseable `payload=` form field, a shape Bolt cannot read → 400;
4. if Slack's Web API does not answer `auth.test` (down or slow), the request is acked
   with 200 at once and dispatched later from a retry thread, with a log line; Slack
   never sees a 5xx because its own API is unreachable.

Bolt's dispatch blocks until the listener acks, so it runs in the thread pool, never on
the event loop.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from slack_bolt.adapter.starlette.handler import to_starlette_response
from slack_bolt.request import BoltRequest
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers

from service.errors import BadRequest, InvalidSlackSignature
from service.slack.bot import SlackBot

log = logging.getLogger("service.slack")
#: Paths that carry Slack's signature instead of a bearer key.
SLACK_PATHS = frozenset({"/slack/events"})
#: How far a request's timestamp may be from now (Slack's own rule: 5 minutes).
MAX_CLOCK_SKEW_S = 300
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


def slack_signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 signature: HMAC-SHA256 over `v0:<timestamp>:<raw body>`. Computed over
    bytes (slack_sdk's verifier decodes the body as UTF-8 first and raises on others)."""
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def check_signature(secret: str, headers: Headers, body: bytes) -> None:
    timestamp = headers.get("x-slack-request-timestamp")
    signature = headers.get("x-slack-signature")
    if not timestamp or not signature:
        raise InvalidSlackSignature("unsigned request: X-Slack-Signature and "
                                    "X-Slack-Request-Timestamp are required")
    if not _TIMESTAMP.match(timestamp):
        raise InvalidSlackSignature("X-Slack-Request-Timestamp must be Unix time in seconds")
    if abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW_S:
        raise InvalidSlackSignature("stale request: X-Slack-Request-Timestamp is more than "
                                    "5 minutes from the server's clock")
    expected = slack_signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise InvalidSlackSignature("invalid signature: the request was not signed with "
                                    "this app's signing secret (SLACK_SIGNING_SECRET)")


def _json_object(text: str, what: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BadRequest(f"{what} is not valid JSON: {type(exc).__name__}") from exc
    if not isinstance(value, dict):
        raise BadRequest(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def parse_payload(content_type: str | None, body: bytes) -> dict[str, Any]:
    """The payload the way Bolt will read it (JSON events, `payload=` interactivity forms,
    slash-command forms), or a 400 saying what is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequest("Slack request body is not valid UTF-8") from exc
    if not text.strip():
        raise BadRequest("empty Slack request body")
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/json" or text.startswith("{"):
        return _json_object(text, "Slack request body")
    form = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in form:  # interactivity: the JSON payload in a form field
        return _json_object(form["payload"], "the `payload` form field")
    if not form:
        raise BadRequest("Slack request body is neither JSON nor a form")
    return form


def needs_authorization(payload: dict[str, Any]) -> bool:
    """URL verification and SSL checks are answered without knowing who the bot is."""
    return payload.get("type") != "url_verification" and "ssl_check" not in payload


def bolt_request(request: Request, body: bytes) -> BoltRequest:
    try:
        return BoltRequest(body=body.decode("utf-8"), query=dict(request.query_params),
                           headers=dict(request.headers))
    except Exception as exc:  # Bolt reads fields assuming Slack's shapes
        raise BadRequest(f"Slack request has an unexpected shape ({type(exc).__name__})") \
            from exc


def slack_router(bot: SlackBot) -> APIRouter:
    router = APIRouter()
    signing_secret = bot.settings.slack_signing_secret or ""
    later = ThreadPoolExecutor(1, thread_name_prefix="slack-retry")

    @router.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        check_signature(signing_secret, request.headers, body)
        payload = parse_payload(request.headers.get("content-type"), body)
        incoming = bolt_request(request, body)
        if needs_authorization(payload) and not await run_in_threadpool(bot.identity.ensure):
            log.warning("Slack's Web API is unreachable: request acked, to be dispatched "
                        "when it answers (event %s)", payload.get("event_id", "-"))
            later.submit(dispatch_when_slack_answers, bot, incoming, payload)
            return Response(status_code=200)
        response = await run_in_threadpool(bot.app.dispatch, incoming)
        if response.status >= 500:  # a shape no listener expected; Slack must not retry it
            log.error("Bolt failed on a signed Slack request (event %s): %s",
                      payload.get("event_id", "-"), response.body)
            raise BadRequest("Slack request could not be handled; see the server log")
        return to_starlette_response(response)

    return router


def dispatch_when_slack_answers(bot: SlackBot, incoming: BoltRequest,
                                payload: dict[str, Any]) -> None:
    """Retry `auth.test` with backoff (1 s, 2 s, 4 s, ...; RAG_SLACK_API_RETRIES times),
    then dispatch; if Slack never answered, log the request as dropped."""
    delay = 1.0
    for _ in range(bot.settings.slack_api_retries):
        time.sleep(delay)
        delay *= 2
        if bot.identity.ensure():
            bot.app.dispatch(incoming)
            log.info("acked Slack request dispatched after Slack's API came back (event "
                     "%s)", payload.get("event_id", "-"))
            return
    log.error("Slack's Web API stayed unreachable: request dropped (event %s, type %s)",
              payload.get("event_id", "-"), payload.get("type") or payload.get("command"))
