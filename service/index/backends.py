"""The retrieval backends by name (RAG_RETRIEVAL_BACKEND): which store opens an index."""

from __future__ import annotations

from service.config import Settings
from service.index.backend import IndexBackend
from service.index.config import IndexConfig


def open_index(config: IndexConfig, settings: Settings) -> IndexBackend:
    """The index's store on the configured backend."""
    if settings.retrieval_backend == "postgres":
        from service.index.postgres import PostgresIndex

        return PostgresIndex(config, settings)
    from service.index.store import IndexStore

    return IndexStore(config, settings)
