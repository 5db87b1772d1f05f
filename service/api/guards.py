"""Checks on what a client may ask for, run before a route does any work."""

from __future__ import annotations

from fastapi import Request

from service.config import Settings
from service.errors import ConfigError, GeneratorNotAllowed, UnsupportedMediaType
from service.generation.backends import GENERATORS


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


def client_generators(settings: Settings) -> list[str]:
    """Generators a client may request, in registry order: those the operator opened
    (RAG_CLIENT_GENERATORS) that are registered, 'openai' only with an endpoint
    configured (without one the request could only fail)."""
    opened = settings.client_generator_names()
    return [name for name in GENERATORS.names() if name in opened
            and (name != "openai" or settings.openai_configured())]


def check_client_generator_setting(settings: Settings) -> None:
    """At start: RAG_CLIENT_GENERATORS names only registered generators."""
    if unknown := sorted(settings.client_generator_names() - set(GENERATORS.names())):
        raise ConfigError(f"RAG_CLIENT_GENERATORS names unknown generator(s) "
                          f"{', '.join(unknown)}; registered: {', '.join(GENERATORS.names())}")


def check_client_generator(settings: Settings, generator: str | None) -> None:
    """A client may choose only a generator the operator opened (RAG_CLIENT_GENERATORS)."""
    if generator is None:
        return
    allowed = client_generators(settings)
    if generator not in allowed:
        extra = (" (this server has no OpenAI endpoint configured)"
                 if generator == "openai" and not settings.openai_configured() else "")
        shown = generator if len(generator) <= 40 else generator[:37] + "..."
        raise GeneratorNotAllowed(
            f"generator {shown!r} is not available to clients on this server{extra}; "
            f"allowed: {', '.join(allowed)}")
