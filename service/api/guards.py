"""Checks on what a client may ask for, run before a route does any work."""

from __future__ import annotations

from fastapi import Request

from service.config import Settings
from service.errors import GeneratorNotAllowed, UnsupportedMediaType


def require_json(request: Request) -> None:
    """A dependency of the JSON endpoints: another declared media type is a 415, not a
    confusing validation error about the body's shape. No Content-Type is read as JSON."""
    declared = request.headers.get("content-type")
    if declared is None:
        return
    media = declared.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(
            f"Content-Type {media[:60]!r} is not accepted here: send application/json")


def check_client_generator(settings: Settings, generator: str | None) -> None:
    """A client may choose only a generator the operator opened (RAG_CLIENT_GENERATORS)."""
    if generator is None:
        return
    allowed = settings.client_generator_set()
    if generator not in allowed:
        extra = (" (this server has no OpenAI endpoint configured)"
                 if generator == "openai" and not settings.openai_configured() else "")
        raise GeneratorNotAllowed(
            f"generator {generator!r} is not available to clients on this server{extra}; "
            f"allowed: {', '.join(allowed)}")
