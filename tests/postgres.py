"""The tests' PostgreSQL server: tools/local_postgres.py's `PostgresServer` (initdb into a
temporary folder, fsync off, stopped at teardown)."""

from tools.local_postgres import PG_BIN, PostgresServer

__all__ = ["PG_BIN", "PostgresServer"]
