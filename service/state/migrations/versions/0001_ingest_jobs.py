"""Ingestion jobs, their files and document provenance (the schema before issue 15).

Stores created before migrations existed already hold these tables (made by
`create_all`): they are created here only when missing, and such a store is then stamped
at this revision.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _missing(name: str) -> bool:
    return not sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    if _missing("ingest_jobs"):
        op.create_table(
            "ingest_jobs",
            sa.Column("job_id", sa.String(40), primary_key=True),
            sa.Column("index_name", sa.String(128), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("reason", sa.Text, nullable=False),
            sa.Column("status", sa.String(16), nullable=False, index=True),
            sa.Column("api_key", sa.String(32)),
            sa.Column("target", sa.Text),
            sa.Column("created_at", sa.Float, nullable=False, index=True),
            sa.Column("finished_at", sa.Float),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("lease_owner", sa.String(64)),
            sa.Column("lease_until", sa.Float),
            sa.Column("report", sa.Text),
            sa.Column("error", sa.Text))
    if _missing("ingest_job_files"):
        op.create_table(
            "ingest_job_files",
            sa.Column("job_id", sa.String(40),
                      sa.ForeignKey("ingest_jobs.job_id", ondelete="CASCADE"),
                      primary_key=True),
            sa.Column("name", sa.String(255), primary_key=True),
            sa.Column("data", sa.LargeBinary, nullable=False),
            sa.Column("sha256", sa.String(64), nullable=False))
    if _missing("document_provenance"):
        op.create_table(
            "document_provenance",
            sa.Column("index_name", sa.String(128), primary_key=True),
            sa.Column("doc_id", sa.String(512), primary_key=True),
            sa.Column("origin", sa.String(16), nullable=False),
            sa.Column("api_key", sa.String(32)),
            sa.Column("job_id", sa.String(40)),
            sa.Column("added_at", sa.String(40)))
