"""Errors as clients see them: OpenAI's error shape, one status per error class."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from service.api.metrics import Metrics
from service.api.schemas import error_body
from service.errors import RagError


def _error_type(status: int) -> str:
    return {400: "invalid_request_error", 401: "authentication_error", 404: "not_found_error",
            409: "conflict_error", 413: "invalid_request_error", 415: "invalid_request_error",
            422: "invalid_request_error"}.get(status, "server_error" if status >= 500
                                             else "invalid_request_error")


def error_response(status: int, message: str, code: str, param: str | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(error_body(message, _error_type(status), code, param),
                        status_code=status, headers=headers)


def install_error_handlers(app: FastAPI, metrics: Metrics) -> None:
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
