"""The answering path as stages: condense → retrieve → generate → verify → compose.

`Pipeline(settings).ask(AskRequest(question=...))` is what every surface calls."""

from service.pipeline.pipeline import Pipeline
from service.records import AskRequest

__all__ = ["AskRequest", "Pipeline"]
