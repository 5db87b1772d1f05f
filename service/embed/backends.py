"""The embedders, registered by name. To add one: a module with an Embedder (see
service/embed/__init__.py) and one `register` call here."""

from __future__ import annotations

from collections.abc import Callable

from service.config import Settings
from service.embed import Embedder
from service.embed.minilm import MiniLMEmbedder
from service.embed.openai_embed import OpenAIEmbedder
from service.registry import Registry

EmbedderFactory = Callable[[Settings], Embedder]
EMBEDDERS: Registry[EmbedderFactory] = Registry("embedder",
                                                setting="index.toml [embedder] name")


def make_embedder(name: str, settings: Settings) -> Embedder:
    return EMBEDDERS.get(name)(settings)


def _minilm(settings: Settings) -> Embedder:
    return MiniLMEmbedder.shared(batch_size=settings.embed_batch_size)


EMBEDDERS.register("minilm", _minilm)
EMBEDDERS.register("openai", OpenAIEmbedder.from_settings)
