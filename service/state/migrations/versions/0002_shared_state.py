"""Issue 15: everything replicas must share — uploaded bytes, feedback of every surface,
Slack event dedupe and rate-limit counters (before: per host or per process).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "uploaded_documents",
        sa.Column("index_name", sa.String(128), primary_key=True),
        sa.Column("doc_id", sa.String(512), primary_key=True),
        sa.Column("data", sa.LargeBinary),
        sa.Column("sha256", sa.String(64)),
        sa.Column("updated_at", sa.Float, nullable=False))
    op.create_table(
        "answers",
        sa.Column("answer_id", sa.String(100), primary_key=True),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("surface", sa.String(16), nullable=False),
        sa.Column("team", sa.String(64)),
        sa.Column("channel", sa.String(64)),
        sa.Column("thread_ts", sa.String(64)),
        sa.Column("user_id", sa.String(100), nullable=False),
        sa.Column("index_name", sa.String(128), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("answer", sa.Text, nullable=False),
        sa.Column("abstained", sa.Boolean, nullable=False),
        sa.Column("generator", sa.String(64), nullable=False),
        sa.Column("faithfulness", sa.Float),
        sa.Column("citations", sa.Text, nullable=False))
    op.create_table(
        "feedback",
        sa.Column("answer_id", sa.String(100),
                  sa.ForeignKey("answers.answer_id", ondelete="CASCADE"), primary_key=True),
        sa.Column("user_id", sa.String(100), primary_key=True),
        sa.Column("verdict", sa.String(8), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("comment", sa.Text),
        sa.CheckConstraint("verdict IN ('up', 'down')", name="feedback_verdict"))
    op.create_table(
        "seen_events",
        sa.Column("event_id", sa.String(200), primary_key=True),
        sa.Column("seen_at", sa.Float, nullable=False, index=True))
    op.create_table(
        "rate_hits",
        sa.Column("hit_id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("bucket", sa.String(200), nullable=False),
        sa.Column("at", sa.Float, nullable=False))
    op.create_index("rate_hits_bucket_at", "rate_hits", ["bucket", "at"])
