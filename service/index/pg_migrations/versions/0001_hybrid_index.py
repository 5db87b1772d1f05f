"""One index's tables: chunks (embedding, keyword terms), documents, word statistics.

- `chunks`: where each chunk lies in its document, the metadata filters work on, the
  generations it is visible in (backend.py), its embedding (pgvector `vector`, HNSW with
  cosine distance), its content words as a position-less `tsvector` (GIN) for matching,
  `tf2` (the words found more than once, with their counts) and `n_words` for BM25;
- `documents`: each document version's record (the service's `Document` as JSON);
- `terms`: how many stored chunks hold each word (BM25's IDF, and which words are too
  common to match), `stats`: chunks and words stored (average chunk length);
- `meta`: the manifest (the committed generation) and the skipped-files list.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    attributes = op.get_context().config.attributes
    s = '"' + attributes["schema"] + '"'
    dimension = int(attributes["dimension"])
    op.execute(f"""
        CREATE TABLE {s}.chunks (
            chunk_id text PRIMARY KEY,
            doc_id text NOT NULL,
            position integer NOT NULL,
            start_char integer NOT NULL,
            end_char integer NOT NULL,
            source text,
            day date,
            gen_from integer NOT NULL,
            gen_to integer NOT NULL,
            embedding vector({dimension}) NOT NULL,
            words tsvector NOT NULL,
            tf2 jsonb NOT NULL DEFAULT '{{}}',
            n_words integer NOT NULL
        )""")
    op.execute(f"CREATE INDEX chunks_doc ON {s}.chunks (doc_id)")
    op.execute(f"CREATE INDEX chunks_gen_from ON {s}.chunks (gen_from)")
    op.execute(f"CREATE INDEX chunks_gen_to ON {s}.chunks (gen_to)")
    op.execute(f"CREATE INDEX chunks_words ON {s}.chunks USING gin (words)")
    op.execute(f"CREATE INDEX chunks_embedding ON {s}.chunks "
               "USING hnsw (embedding vector_cosine_ops)")
    op.execute(f"""
        CREATE TABLE {s}.documents (
            record_id text PRIMARY KEY,
            doc_id text NOT NULL,
            path text NOT NULL,
            root text NOT NULL,
            sha256 text NOT NULL,
            gen_from integer NOT NULL,
            gen_to integer NOT NULL,
            body text NOT NULL
        )""")
    op.execute(f"CREATE INDEX documents_doc ON {s}.documents (doc_id)")
    op.execute(f"CREATE INDEX documents_gen_to ON {s}.documents (gen_to)")
    op.execute(f"CREATE TABLE {s}.terms (term text PRIMARY KEY, df integer NOT NULL)")
    op.execute(f"CREATE TABLE {s}.stats (id integer PRIMARY KEY CHECK (id = 1), "
               "chunks bigint NOT NULL, words bigint NOT NULL)")
    op.execute(f"INSERT INTO {s}.stats VALUES (1, 0, 0)")
    op.execute(f"CREATE TABLE {s}.meta (key text PRIMARY KEY, value jsonb NOT NULL)")


def downgrade() -> None:
    s = '"' + op.get_context().config.attributes["schema"] + '"'
    for table in ("meta", "stats", "terms", "documents", "chunks"):
        op.execute(f"DROP TABLE {s}.{table}")
