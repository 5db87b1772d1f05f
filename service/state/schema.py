"""The state store's tables (SQLAlchemy Core), the same on SQLite and PostgreSQL.

This is the schema the code reads and writes; the migrations in `migrations/versions/`
build it step by step (a new column means a new migration there and a change here).
`tests/test_state_store.py` checks that the migrated database matches these tables.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

# --- ingestion: a leased job queue, the uploaded bytes, who uploaded what -----------------
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

#: The bytes of every uploaded document, so a worker on any host can lay out the index's
#: upload folder before ingesting. `data` NULL: deleted (the row tells other hosts' workers
#: to remove their copy).
uploaded_documents = Table(
    "uploaded_documents", metadata,
    Column("index_name", String(128), primary_key=True),
    Column("doc_id", String(512), primary_key=True),
    Column("data", LargeBinary),
    Column("sha256", String(64)),
    Column("updated_at", Float, nullable=False),
)

# --- feedback from every surface ------------------------------------------------------
answers = Table(
    "answers", metadata,
    Column("answer_id", String(100), primary_key=True),
    Column("created_at", String(40), nullable=False),
    Column("surface", String(16), nullable=False),  # slack | web
    Column("team", String(64)),
    Column("channel", String(64)),
    Column("thread_ts", String(64)),
    Column("user_id", String(100), nullable=False),
    Column("index_name", String(128), nullable=False),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("abstained", Boolean, nullable=False),
    Column("generator", String(64), nullable=False),
    Column("faithfulness", Float),
    Column("citations", Text, nullable=False),  # JSON
)

feedback = Table(
    "feedback", metadata,
    Column("answer_id", String(100), ForeignKey("answers.answer_id", ondelete="CASCADE"),
           primary_key=True),
    Column("user_id", String(100), primary_key=True),
    Column("verdict", String(8), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("comment", Text),
    CheckConstraint("verdict IN ('up', 'down')", name="feedback_verdict"),
)

# --- Slack retries and rate limits, counted across replicas ----------------------------
seen_events = Table(
    "seen_events", metadata,
    Column("event_id", String(200), primary_key=True),
    Column("seen_at", Float, nullable=False, index=True),
)

rate_hits = Table(
    "rate_hits", metadata,
    Column("hit_id", Integer, primary_key=True, autoincrement=True),
    Column("bucket", String(200), nullable=False),
    Column("at", Float, nullable=False),
    Index("rate_hits_bucket_at", "bucket", "at"),
)
