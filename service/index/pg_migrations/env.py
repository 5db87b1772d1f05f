"""Alembic's entry point for one index's schema on the PostgreSQL backend
(`service/index/postgres.py`). The caller hands over the connection it holds the
migration lock on, the schema (`idx_<index name>`) and the embedding dimension
(`config.attributes`); the version table lives in that schema, so each index migrates
on its own."""

from __future__ import annotations

from alembic import context

attributes = context.config.attributes
context.configure(connection=attributes["connection"], target_metadata=None,
                  version_table_schema=attributes["schema"])
with context.begin_transaction():
    context.run_migrations()
