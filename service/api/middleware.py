"""Per request: a request id (yours if you send one), API-key auth, metrics and one JSON
access-log line."""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

from service.api.error_handlers import error_response
from service.api.metrics import Metrics
from service.config import Settings

access_log = logging.getLogger("service.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def install_request_context(app: FastAPI, settings: Settings, metrics: Metrics,
                            public_paths: frozenset[str],
                            public_prefixes: tuple[str, ...] = ()) -> None:
    """`public_paths` (exact) and paths under `public_prefixes` need no API key."""
    keys = settings.api_key_set()

    def is_public(path: str) -> bool:
        return path in public_paths or path.startswith(public_prefixes)

    @app.middleware("http")
    async def request_context(request: Request,
                              call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        incoming = request.headers.get("x-request-id", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.state.request_id = request_id
        started = time.perf_counter()
        if keys and not is_public(request.url.path) and not _authorised(request, keys):
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


def _authorised(request: Request, keys: frozenset[str]) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return any(secrets.compare_digest(token.strip(), key) for key in keys)
