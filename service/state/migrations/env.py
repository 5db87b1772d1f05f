"""Alembic's entry point. The state store hands over the connection it holds the
migration lock on (`config.attributes["connection"]`); nothing here opens its own."""

from __future__ import annotations

from alembic import context

from service.state.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
