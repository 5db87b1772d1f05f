"""Embedders behind one interface, chosen by name (an index's `embedder` setting)."""

from __future__ import annotations

from typing import Protocol

import numpy as np

from service.config import Settings
from service.errors import ConfigError


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    #: Identifies the model; an index remembers it and refuses a different one.
    model_id: str
    dimension: int
    #: The longest input, in the model's own tokens, that the model actually reads.
    max_input_tokens: int

    def embed(self, texts: list[str]) -> np.ndarray: ...


def make_embedder(name: str, settings: Settings) -> Embedder:
    if name == "minilm":
        from service.embed.minilm import MiniLMEmbedder

        return MiniLMEmbedder.shared(batch_size=settings.embed_batch_size)
    if name == "openai":
        from service.embed.openai_embed import OpenAIEmbedder

        return OpenAIEmbedder.from_settings(settings)
    raise ConfigError(f"unknown embedder {name!r}: use 'minilm' (bundled) or 'openai'")
