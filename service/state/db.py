"""The state store's engine and schema (SQLAlchemy 2 Core).

One database holds what must outlive a process: ingestion jobs with the bytes of the
uploaded files (so an accepted upload survives a crash and any worker can ingest it) and
the provenance of uploaded documents. The default is an SQLite file beside the indexes
folder (`var/state.sqlite3`, RAG_STATE_DB) in WAL mode with full fsync; RAG_DATABASE_URL
names another SQLAlchemy database instead (PostgreSQL is the target of issue 15; only
SQLite is tested here). The schema is created on first use; a migration tool comes with
the second backend.

SQLite's file lock makes the store safe for the threads and processes of one host, not
for a network file system.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
)

from service.config import Settings

metadata = MetaData()

ingest_jobs = Table(
    "ingest_jobs", metadata,
    Column("job_id", String(40), primary_key=True),
    Column("index_name", String(128), nullable=False),
    Column("kind", String(16), nullable=False),  # upload | delete
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False, index=True),  # queued|running|succeeded|failed
    Column("api_key", String(32)),  # fingerprint of the key that asked, never the key
    Column("target", Text),  # delete: the document id
    Column("created_at", Float, nullable=False, index=True),
    Column("finished_at", Float),
    Column("attempts", Integer, nullable=False, default=0),
    Column("lease_owner", String(64)),
    Column("lease_until", Float),  # running: lease expiry; queued: not before
    Column("report", Text),  # JSON
    Column("error", Text),
)

ingest_job_files = Table(
    "ingest_job_files", metadata,
    Column("job_id", String(40), ForeignKey("ingest_jobs.job_id", ondelete="CASCADE"),
           primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("data", LargeBinary, nullable=False),
    Column("sha256", String(64), nullable=False),
)

document_provenance = Table(
    "document_provenance", metadata,
    Column("index_name", String(128), primary_key=True),
    Column("doc_id", String(512), primary_key=True),
    Column("origin", String(16), nullable=False),
    Column("api_key", String(32)),
    Column("job_id", String(40)),
    Column("added_at", String(40)),
)


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


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")  # a committed job survives power loss too
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class StateStore:
    """The engine, with the schema in place. Share one per process."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        metadata.create_all(self.engine)

    @classmethod
    def from_settings(cls, settings: Settings) -> StateStore:
        return cls(state_url(settings))

    @classmethod
    def existing(cls, settings: Settings) -> StateStore | None:
        """The store if it was ever created (a CLI run must not create one needlessly)."""
        if not settings.database_url and not state_db_path(settings).is_file():
            return None
        return cls.from_settings(settings)

    def close(self) -> None:
        self.engine.dispose()
