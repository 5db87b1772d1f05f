"""Alembic migrations of the state store (run by `StateStore` at start-up: `upgrade head`)."""
