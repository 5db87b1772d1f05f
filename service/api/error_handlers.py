"""Every error the HTTP API returns, in OpenAI's shape `{"error": {message, type, param,
code}}`: our own RagErrors, FastAPI's validation errors, and Starlette's HTTPExceptions
(unknown route, wrong method, unparseable bodies, multipart limits), each with a message
that says what was wrong. The one place that turns exceptions into HTTP statuses.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from service.api.metrics import Metrics
from service.api.schemas import error_body
from service.errors import RagError

log = logging.getLogger("service.api")
#: Validation problems named in one message; the rest are counted.
_MAX_PROBLEMS = 5
_METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")
_TYPES = {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
          409: "conflict_error"}


class ErrorResponse(JSONResponse):
    """ASCII-only JSON: a message that quotes client text can never fail to encode."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def error_type(status: int) -> str:
    return _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")


def error_response(status: int, message: str, code: str, param: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return ErrorResponse(error_body(message, error_type(status), code, param),
                         status_code=status, headers=headers)


def _loc(loc: tuple[object, ...] | list[object]) -> str:
    return ".".join(str(p) for p in loc if p not in ("body", "path", "query")) or "body"


def validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    problems = [f"{_loc(e['loc'])}: {e['msg']}" for e in errors[:_MAX_PROBLEMS]]
    if len(errors) > _MAX_PROBLEMS:
        problems.append(f"and {len(errors) - _MAX_PROBLEMS} more")
    param = _loc(errors[0]["loc"]) if errors else None
    return f"invalid request: {'; '.join(problems)}", None if param == "body" else param


def _unparseable_body(cause: BaseException) -> str:
    """Why FastAPI could not read a body (it reports every reason as one 400)."""
    if isinstance(cause, UnicodeDecodeError):
        return (f"request body is not valid UTF-8 (byte 0x{cause.object[cause.start]:02x} at "
                f"position {cause.start}); send JSON encoded as UTF-8")
    if isinstance(cause, RecursionError):
        return "request body nests JSON arrays or objects too deeply"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return "request body holds an integer with more than 4300 digits"
    return f"request body could not be parsed ({type(cause).__name__})"


def http_error_parts(request: Request, exc: HTTPException) -> tuple[str, str]:
    """The message and code for one of Starlette's or FastAPI's HTTPExceptions."""
    status, detail = exc.status_code, str(exc.detail)
    if status == 404:
        return f"no endpoint {request.method} {request.url.path}; see /docs", "not_found"
    if status == 405:
        return (f"method {request.method} is not allowed on {request.url.path}; allowed: "
                f"{', '.join(allowed_methods(request))}", "method_not_allowed")
    if status == 413:
        return detail, "payload_too_large"
    if status == 400 and exc.__cause__ is not None:
        return _unparseable_body(exc.__cause__), "invalid_body"
    if status == 400:  # Starlette's multipart errors (too many files or fields, bad parts)
        return f"invalid multipart body: {detail}", "invalid_multipart"
    return detail, "http_error"


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette's 405 names only the first
    route's, and GET and DELETE of a document are two routes): each method is tried
    against the app's routes."""
    routes = request.app.router.routes
    return [method for method in _METHODS if any(
        route.matches({**request.scope, "method": method})[0] == Match.FULL
        for route in routes)]


def install_error_handlers(app: FastAPI, metrics: Metrics) -> None:
    @app.exception_handler(RagError)
    async def rag_error(request: Request, exc: RagError) -> JSONResponse:
        metrics.errors.labels(exc.code).inc()
        if exc.http_status >= 500:
            log.warning("request %s: %s", getattr(request.state, "request_id", "?"), exc)
        return error_response(exc.http_status, exc.public_message(), exc.code)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        metrics.errors.labels("invalid_request").inc()
        message, param = validation_message(exc)
        return error_response(400, message, "invalid_request", param)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        message, code = http_error_parts(request, exc)
        metrics.errors.labels(code).inc()
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return error_response(exc.status_code, message, code, headers=headers or None)
