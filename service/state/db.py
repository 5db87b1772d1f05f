"""The state store: one database for everything replicas and workers must share.

Two backends behind the same SQLAlchemy Core code: an SQLite file (the default, nothing
to install: `var/state.sqlite3` beside the indexes folder, RAG_STATE_DB) and PostgreSQL
(RAG_DATABASE_URL=postgresql+psycopg://user@host/db). The schema is `schema.py`, built by
the Alembic migrations in `migrations/`; every process runs `upgrade head` when it opens
the store, under a lock (replicas start together): a PostgreSQL advisory lock, or a file
lock beside the SQLite file.

Where the backends differ, this module decides:
- SQLite transactions start with BEGIN IMMEDIATE, so writers queue one after another
  (the SQLite stand-in for row locks; `FOR UPDATE SKIP LOCKED` compiles to nothing there).
  WAL mode, full fsync. Safe for the processes of one host, not for a network file system.
- `index_lock` (one ingest per index at a time): a session advisory lock on PostgreSQL,
  held by a connection for the whole run (a dead worker's connection drops it); the
  per-host file lock in the index's store folder on SQLite.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy.dialects import postgresql, sqlite

from service.config import Settings
from service.errors import IndexBusy, StateStoreUnavailable
from service.index.config import IndexConfig
from service.index.lock import index_write_lock, lock_key

MIGRATIONS = Path(__file__).with_name("migrations")
_MIGRATE_LOCK = "rag-state-migrate"


def state_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return f"sqlite:///{state_db_path(settings)}"


def state_db_path(settings: Settings) -> Path:
    """RAG_STATE_DB, else var/state.sqlite3 beside the indexes folder (so each deployment,
    and each test's temporary indexes, has its own)."""
    if settings.state_db:
        return settings.state_db
    return settings.indexes_dir.absolute().parent / "var" / "state.sqlite3"


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # a committed job survives power loss too
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class StateStore:
    """The engine, migrated to the newest schema. Share one per process."""

    def __init__(self, url: str) -> None:
        self.url = url
        if url.startswith("sqlite:///"):
            self.sqlite_path: Path | None = Path(url.removeprefix("sqlite:///"))
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        else:
            self.sqlite_path = None
        self.engine: Engine = create_engine(url, pool_pre_ping=True)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_connect)
            event.listen(self.engine, "begin", _sqlite_begin)
        self.migrate()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @classmethod
    def from_settings(cls, settings: Settings) -> StateStore:
        return cls(state_url(settings))

    @classmethod
    def existing(cls, settings: Settings) -> StateStore | None:
        """The store if it was ever created (a CLI run must not create one needlessly)."""
        if not settings.database_url and not state_db_path(settings).is_file():
            return None
        return cls.from_settings(settings)

    def describe(self) -> str:
        """Where the store is, without credentials (for start-up lines and errors)."""
        return str(self.sqlite_path) if self.sqlite_path else self.engine.url.render_as_string(
            hide_password=True)

    def migrate(self) -> None:
        """`alembic upgrade head`, one process at a time."""
        try:
            with self._exclusive(_MIGRATE_LOCK), self.engine.connect() as connection:
                config = Config()
                config.set_main_option("script_location", str(MIGRATIONS))
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
                connection.commit()
        except OSError as exc:
            raise StateStoreUnavailable(f"state store {self.describe()}: {exc}") from exc

    @contextmanager
    def _exclusive(self, name: str) -> Iterator[None]:
        """Wait for a store-wide lock (migrations)."""
        if self.sqlite_path is not None:
            with open(self.sqlite_path.with_name(self.sqlite_path.name + ".lock"), "a+") as f:
                fcntl.flock(f, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(f, fcntl.LOCK_UN)
            return
        with self._advisory_lock(name, wait=True):
            yield

    def index_lock(self, config: IndexConfig) -> AbstractContextManager[None]:
        """One writer per index, across hosts on PostgreSQL (raises IndexBusy)."""
        if self.dialect != "postgresql":
            return index_write_lock(config.store_dir, config.name)
        return self._advisory_lock(f"rag-ingest:{config.name}", wait=False,
                                   busy=f"index {config.name!r} is being ingested by "
                                   "another worker; wait for it to finish")

    @contextmanager
    def _advisory_lock(self, name: str, wait: bool, busy: str = "") -> Iterator[None]:
        """A PostgreSQL session advisory lock: waited for, or tried (IndexBusy(busy))."""
        with self.engine.connect() as connection:
            if wait:
                connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key(name)})
            else:
                got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"),
                                         {"k": lock_key(name)}).scalar()
                connection.commit()
                if not got:
                    raise IndexBusy(busy)
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"),
                                   {"k": lock_key(name)})
                connection.commit()

    def close(self) -> None:
        self.engine.dispose()


def upsert(state: StateStore, table: Table) -> Any:
    """An INSERT that can take ON CONFLICT clauses on either backend."""
    if state.dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
