"""Checks Schemathesis runs on every response of the fuzz suite, beside its own
`not_a_server_error`. Loaded with SCHEMATHESIS_HOOKS=tests.fuzz.checks."""

from __future__ import annotations

import json
from typing import Any

import schemathesis

ERROR_KEYS = {"message", "type", "param", "code"}


def _header(response: Any, name: str) -> str | None:
    for key, values in response.headers.items():
        if key.lower() == name:
            return values[0] if isinstance(values, list) else values
    return None


@schemathesis.check
def request_id_on_every_response(ctx: Any, response: Any, case: Any) -> None:
    if not _header(response, "x-request-id"):
        raise AssertionError(f"no X-Request-ID on a {response.status_code} response")


@schemathesis.check
def errors_in_openai_shape(ctx: Any, response: Any, case: Any) -> None:
    if response.status_code < 400:
        return
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        raise AssertionError(f"{response.status_code} error body is not JSON") from exc
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or set(error) != ERROR_KEYS or not error["message"]:
        raise AssertionError(f"{response.status_code} error body not in OpenAI's shape: "
                             f"{response.content[:200]!r}")
