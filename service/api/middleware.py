"""The outermost layer of the HTTP app, around every request whatever happens inside:

- a request id (the client's `X-Request-ID` if it is sane, else a new one) on every
  response, errors included, and one JSON access-log line per request;
- API-key auth (all paths but the public ones);
- the body-size cap: a declared `Content-Length` over the limit gets 413 before anything
  is read, a streamed body is cut off at the limit (BodyTooLarge, also a 413);
- the last resort: an exception nothing else handled becomes a 500 in OpenAI's shape
  with the request id, instead of Starlette's plain-text "Internal Server Error".

A pure ASGI middleware, not `@app.middleware("http")`: Starlette puts the latter inside
its ServerErrorMiddleware, so a crash there left the response without a request id and
without a log line.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
import uuid
from dataclasses import dataclass

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api.error_handlers import error_response
from service.api.metrics import Metrics
from service.config import Settings

access_log = logging.getLogger("service.access")
log = logging.getLogger("service.api")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class BodyTooLarge(HTTPException):
    """The request body outgrew its cap while it was being read. An HTTPException so that
    FastAPI's body parsing passes it on unchanged (it wraps other errors into a 400)."""

    def __init__(self, limit: int, setting: str) -> None:
        super().__init__(413, f"request body larger than {limit} bytes ({setting})")


@dataclass(frozen=True)
class EdgePolicy:
    keys: frozenset[str]
    public_paths: frozenset[str]
    public_prefixes: tuple[str, ...]
    max_body_bytes: int
    max_upload_request_bytes: int
    log_json: bool

    def is_public(self, path: str) -> bool:
        """Needs no API key: `public_paths` exactly, or a path under `public_prefixes`."""
        return path in self.public_paths or path.startswith(self.public_prefixes)

    def body_limit(self, method: str, path: str) -> tuple[int, str]:
        if method == "POST" and path.startswith("/v1/indexes/") and path.endswith(
                "/documents"):
            return self.max_upload_request_bytes, "RAG_MAX_UPLOAD_REQUEST_BYTES"
        return self.max_body_bytes, "RAG_MAX_BODY_BYTES"


class _Exchange:
    """What the edge learns about one request/response while it passes through."""

    def __init__(self, scope: Scope, send: Send) -> None:
        self.scope = scope
        self.headers = Headers(scope=scope)
        incoming = self.headers.get("x-request-id", "")
        self.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = self.request_id
        self.status: int | None = None
        self.started = time.perf_counter()
        self._send = send

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            MutableHeaders(scope=message)["X-Request-ID"] = self.request_id
            self.status = message["status"]
        await self._send(message)

    async def reply(self, status: int, message: str, code: str,
                    headers: dict[str, str] | None = None) -> None:
        response = error_response(status, message, code, headers=headers)
        await response(self.scope, _no_body, self.send)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def install_request_context(app: FastAPI, settings: Settings, metrics: Metrics,
                            public_paths: frozenset[str],
                            public_prefixes: tuple[str, ...] = ()) -> None:
    app.add_middleware(EdgeMiddleware, metrics=metrics, policy=EdgePolicy(
        keys=settings.api_key_set(), public_paths=public_paths,
        public_prefixes=public_prefixes,
        max_body_bytes=settings.max_body_bytes,
        max_upload_request_bytes=settings.max_upload_request_bytes,
        log_json=settings.log_json))


class EdgeMiddleware:
    def __init__(self, app: ASGIApp, *, policy: EdgePolicy, metrics: Metrics) -> None:
        self.app = app
        self.policy = policy
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(scope, send)
        try:
            await self._handle(exchange, receive)
        except Exception as exc:
            await self._last_resort(exchange, exc)
        finally:
            self._record(exchange)

    async def _handle(self, exchange: _Exchange, receive: Receive) -> None:
        scope, policy = exchange.scope, self.policy
        if policy.keys and not policy.is_public(scope["path"]) and not _authorised(
                exchange.headers, policy.keys):
            self.metrics.errors.labels("invalid_api_key").inc()
            await exchange.reply(
                401, "missing or invalid API key: send `Authorization: Bearer <key>`",
                "invalid_api_key", headers={"WWW-Authenticate": "Bearer"})
            return
        limit, setting = policy.body_limit(scope["method"], scope["path"])
        declared = exchange.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            self.metrics.errors.labels("payload_too_large").inc()
            await exchange.reply(413, f"request body larger than {limit} bytes ({setting})"
                                 if declared.isdigit() else "invalid Content-Length header",
                                 "payload_too_large" if declared.isdigit()
                                 else "invalid_request")
            return
        await self.app(scope, _capped(receive, limit, setting), exchange.send)

    async def _last_resort(self, exchange: _Exchange, exc: Exception) -> None:
        if isinstance(exc, BodyTooLarge) and exchange.status is None:
            await exchange.reply(413, str(exc.detail), "payload_too_large")
            return
        self.metrics.errors.labels("internal").inc()
        log.error("unhandled error in request %s", exchange.request_id, exc_info=exc)
        if exchange.status is None:  # else the response is under way: nothing to add
            await exchange.reply(500, f"internal error ({type(exc).__name__}); request id "
                                 f"{exchange.request_id}", "internal_error")

    def _record(self, exchange: _Exchange) -> None:
        scope = exchange.scope
        route = getattr(scope.get("route"), "path", "unmatched")
        status = exchange.status or 500
        elapsed = time.perf_counter() - exchange.started
        self.metrics.requests.labels(scope["method"], route, str(status)).inc()
        self.metrics.latency.labels(route).observe(elapsed)
        if self.policy.log_json:
            client = scope.get("client")
            access_log.info(json.dumps({
                "ts": round(time.time(), 3), "request_id": exchange.request_id,
                "method": scope["method"], "path": scope["path"], "route": route,
                "status": status, "duration_ms": round(elapsed * 1000, 1),
                "client": client[0] if client else None,
            }))


def _capped(receive: Receive, limit: int, setting: str) -> Receive:
    seen = 0

    async def capped_receive() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit, setting)
        return message

    return capped_receive


def _authorised(headers: Headers, keys: frozenset[str]) -> bool:
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return any(secrets.compare_digest(token.strip().encode(), key.encode()) for key in keys)
